/**
 * pgkit: locks, caches, lists, queues, messaging and event storage on PostgreSQL.
 *
 * <p>The API is {@code dev.pgkit} (the {@code Pgkit} entry point, configuration, exceptions),
 * {@code dev.pgkit.json} (the value codec) and one package per adapter. Everything in
 * {@code dev.pgkit.internal} is pgkit's own and not exported.
 */
module dev.pgkit {
    requires transitive java.sql;                              // DataSource in the builder and Pgkit#dataSource
    requires transitive com.fasterxml.jackson.databind;        // JacksonJsonCodec(ObjectMapper)
    requires com.zaxxer.hikari;
    requires org.postgresql.jdbc;
    requires org.slf4j;
    requires msgpack.core;                                     // the Socket.IO attachment format (broadcast)

    exports dev.pgkit;
    exports dev.pgkit.json;
    exports dev.pgkit.state;
    exports dev.pgkit.broadcast;
    exports dev.pgkit.conversation;
    exports dev.pgkit.persistence;
    exports dev.pgkit.store;
}
