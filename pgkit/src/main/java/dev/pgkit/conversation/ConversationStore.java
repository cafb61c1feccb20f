package dev.pgkit.conversation;

import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Params;
import dev.pgkit.json.JsonCodec;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chat-bot contacts and conversation history in BuilderBot's PostgreSQL tables ({@code contact},
 * {@code history}) and functions, so a BuilderBot Node bot and a Java service share one database.
 *
 * <p>Every operation is one round trip and atomic under any number of concurrent callers on any number of
 * servers: {@link #save} creates or touches the phone's contact by an upsert on its unique phone in the same
 * statement that appends the entry (concurrent first messages of one phone make exactly one contact), and a
 * merge of contact values is {@code jsonb ||} inside that upsert. The functions BuilderBot's Node adapter
 * calls are installed with bodies built the same way.
 *
 * <p>Shaped for chat memory (a LangChain4j {@code ChatMemoryStore}, a Spring AI chat-memory repository): a
 * conversation is a phone; {@link #save} appends without rewriting the conversation, {@link #recent} reads a
 * window of the newest entries oldest first, {@link #history(String, HistoryQuery)} pages it newest first or by
 * time range, and {@link #clearHistory} / {@link #forget} delete it.
 *
 * <p>Obtain it from {@link dev.pgkit.Pgkit#conversation()}; it is thread-safe and cheap to keep. Times are the
 * server's clock, stored in the seed's {@code timestamp} columns as UTC.
 */
public final class ConversationStore {
    /** The longest text accepted for {@code answer}, {@code refSerialize} and the JSON of values and options, in characters. */
    public static final int MAX_TEXT_LENGTH = 1 << 20;

    private final Context context;
    private final Database database;
    private final JsonCodec codec;
    private final ConversationSql sql;
    private final Rows rows;
    private final ConversationOptions options;

    static {
        // built by Pgkit#conversation through the registry, so no public member takes pgkit's internal Context
        // the retention (an option) is one of the component's cleanups, so housekeeping runs it
        AdapterRegistry.register(ConversationStore.class, ConversationOptions.class, ConversationOptions.defaults(),
                ConversationSchema::component, ConversationStore::new);
    }

    private ConversationStore(Context context, ConversationOptions options) {
        this.context = context;
        this.database = context.database();
        this.codec = context.codec();
        this.sql = new ConversationSql(context.schema());
        this.rows = new Rows(codec);
        this.options = options; // its retention is a cleanup of the component the registry prepared for these options
    }

    /** How long history is kept, if housekeeping removes old entries. */
    public Optional<Duration> historyRetention() {
        return options.historyRetention();
    }

    // ---------------------------------------------------------------- history

    /**
     * Appends a history entry and creates its phone's contact, or touches it ({@code last_interaction}), in one
     * statement: BuilderBot's {@code save(ctx)}. Not repeated after a lost connection (an append): such a call
     * fails with {@link dev.pgkit.OutcomeUnknownException}.
     *
     * @return the stored entry, with its id, contact and creation time
     */
    public HistoryEntry save(NewHistoryEntry entry) {
        Checks.notNull("entry", entry);
        String optionsJson = entry.options().map(o -> Check.json("options", codec.encode(o))).orElse(null);
        return database.query(sql.save, entry.phone(), s -> {
            s.setString(1, entry.phone());
            s.setString(2, entry.ref());
            s.setString(3, entry.keyword().orElse(null));
            s.setString(4, entry.answer());
            s.setString(5, entry.refSerialize());
            s.setString(6, entry.phone());
            Params.jsonb(s, 7, optionsJson);
        }, rs -> {
            rs.next();
            return rows.history(rs);
        });
    }

    /** The latest history entry of a phone, with its {@code refSerialize}: BuilderBot's {@code getPrevByNumber}. */
    public Optional<HistoryEntry> getPrevByNumber(String phone) {
        Check.phone(phone);
        return database.query(sql.getPrevByNumber, phone, s -> s.setString(1, phone),
                rs -> rs.next() ? Optional.of(rows.history(rs)) : Optional.empty());
    }

    /**
     * One page of a phone's history, newest first (by creation time, then id), within the query's time range;
     * {@link HistoryPage#next()} reads the following page. Each page is one index range scan.
     */
    public HistoryPage history(String phone, HistoryQuery query) {
        Check.phone(phone);
        Checks.notNull("query", query);
        List<HistoryEntry> entries = database.query(sql.historyPage, phone, s -> {
            s.setString(1, phone);
            timestamp(s, 2, query.from().orElse(null));
            timestamp(s, 3, query.until().orElse(null));
            timestamp(s, 4, query.before().map(HistoryQuery.Cursor::createdAt).orElse(null));
            Params.nullableLong(s, 5, query.before().map(HistoryQuery.Cursor::id).orElse(null));
            s.setInt(6, query.limit());
        }, rows::histories);
        Optional<HistoryQuery> next = entries.size() < query.limit() ? Optional.empty()
                : Optional.of(query.before(entries.get(entries.size() - 1).cursor()));
        return new HistoryPage(entries, next);
    }

    /**
     * The newest {@code limit} entries of a phone, oldest first: a chat-memory window (what a LangChain4j
     * {@code ChatMemoryStore#getMessages} returns for a conversation).
     */
    public List<HistoryEntry> recent(String phone, int limit) {
        Check.phone(phone);
        Check.limit(limit);
        return database.query(sql.recent, phone, s -> {
            s.setString(1, phone);
            s.setInt(2, limit);
        }, rows::histories);
    }

    /**
     * Deletes every history entry of a phone and keeps its contact (a chat memory cleared).
     *
     * @return how many entries were deleted
     */
    public long clearHistory(String phone) {
        Check.phone(phone);
        return database.update(sql.clearHistory, phone, s -> s.setString(1, phone));
    }

    /**
     * Deletes the history entries older than {@code age} by their creation time (the server's clock) now, in
     * bounded batches that skip rows other sessions hold, as housekeeping does with
     * {@link ConversationOptions#historyRetention()}.
     *
     * @return how many entries were deleted
     */
    public long removeHistoryOlderThan(Duration age) {
        ConversationOptions.checkRetention(age);
        return context.housekeeper().run(ConversationSchema.retention(age));
    }

    // ---------------------------------------------------------------- contacts

    /** {@link #saveContact(String, Object, ContactAction)} with BuilderBot's default action, merge ({@code 'a'}). */
    public Contact saveContact(String phone, Object values) {
        return saveContact(phone, values, ContactAction.MERGE);
    }

    /**
     * {@link #saveContact(String, Object, ContactAction)} with BuilderBot's action letter: {@code "a"} (or null)
     * merges, {@code "u"} replaces.
     *
     * @throws IllegalArgumentException for any other letter
     */
    public Contact saveContact(String phone, Object values, String action) {
        return saveContact(phone, values, ContactAction.fromCode(action));
    }

    /**
     * Saves a contact's values, creating the contact if the phone has none: {@link ContactAction#MERGE} merges
     * them into the stored ones ({@code jsonb ||}: a key in both takes the new value), {@link ContactAction#REPLACE}
     * replaces them. One atomic statement: concurrent merges of different keys all land.
     *
     * @param values a map, a record or any value the codec encodes as a JSON object
     * @return the contact as stored
     * @throws IllegalArgumentException if {@code values} is not a JSON object, or is too large
     */
    public Contact saveContact(String phone, Object values, ContactAction action) {
        Check.phone(phone);
        Checks.notNull("action", action);
        String json = jsonObject("values", values);
        return database.query(action == ContactAction.MERGE ? sql.saveContactMerge : sql.saveContactReplace, phone, s -> {
            s.setString(1, phone);
            Params.jsonb(s, 2, json);
        }, rs -> {
            rs.next();
            return rows.contact(rs);
        });
    }

    /** The contact of a phone: BuilderBot's {@code getContact}. */
    public Optional<Contact> getContact(String phone) {
        Check.phone(phone);
        return database.query(sql.getContact, phone, s -> s.setString(1, phone),
                rs -> rs.next() ? Optional.of(rows.contact(rs)) : Optional.empty());
    }

    /**
     * Contacts whose value under {@code key} is the string {@code value} (the seed's
     * {@code values->>'name' = 'John Doe'}, for string values), by id, on the GIN index {@code idx_contact_values}.
     */
    public List<Contact> findContacts(String key, String value, int limit) {
        return findContacts(key, value, 0, limit);
    }

    /** The page of {@link #findContacts(String, String, int)} after the contact with id {@code afterId}. */
    public List<Contact> findContacts(String key, String value, long afterId, int limit) {
        Check.varchar("key", key);
        Check.text("value", value);
        Check.limit(limit);
        return database.query(sql.findByValue, key, s -> {
            s.setString(1, key);
            s.setString(2, value);
            s.setLong(3, afterId);
            s.setInt(4, limit);
        }, rows::contacts);
    }

    /**
     * Contacts whose values contain {@code subset} (a map or record encoded as a JSON object), nested values
     * included: the seed's {@code values->'preferences'->>'notifications' = 'true'} is
     * {@code Map.of("preferences", Map.of("notifications", true))}. By id, on the GIN index.
     */
    public List<Contact> findContactsContaining(Object subset, long afterId, int limit) {
        String json = jsonObject("subset", subset);
        Check.limit(limit);
        return database.query(sql.findContaining, null, s -> {
            Params.jsonb(s, 1, json);
            s.setLong(2, afterId);
            s.setInt(3, limit);
        }, rows::contacts);
    }

    /** Contacts that have a value under {@code key} (the seed's {@code values ? 'email'}), by id, on the GIN index. */
    public List<Contact> findContactsWithKey(String key, long afterId, int limit) {
        Check.varchar("key", key);
        Check.limit(limit);
        return database.query(sql.findWithKey, key, s -> {
            s.setString(1, key);
            s.setLong(2, afterId);
            s.setInt(3, limit);
        }, rows::contacts);
    }

    // ---------------------------------------------------------------- erasure, merges, functions

    /**
     * Erases a phone: its contact and every history entry of it, in one transaction (a person's right to be
     * deleted). A save of the same phone running meanwhile either lands before (and is erased too) or after (and
     * starts a new contact). Not repeated after a lost connection, so the report is what this call removed; a call
     * that failed with {@link dev.pgkit.OutcomeUnknownException} may be made again.
     *
     * @return what was removed
     */
    public Forgotten forget(String phone) {
        Check.phone(phone);
        return database.query(sql.forget, phone, s -> {
            s.setString(1, phone);
            s.setString(2, phone);
        }, rs -> {
            rs.next();
            return new Forgotten(phone, rs.getInt(1), rs.getLong(2));
        });
    }

    /** The merges of duplicate contacts the unique-phone migration made (empty when there were none), oldest first. */
    public List<ContactMerge> merges() {
        return database.query(sql.merges, null, s -> { }, rs -> {
            List<ContactMerge> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rows.merge(rs));
            }
            return out;
        });
    }

    /**
     * Installs pgkit's race-free bodies of BuilderBot's functions {@code save_or_update_contact} and
     * {@code save_or_update_history_and_contact} again: BuilderBot's Node adapter replaces them with its own at
     * every start. Needs the right to replace the functions (their owner).
     */
    public void installFunctions() {
        Identifier schema = context.schema();
        String ddl = ConversationSchema.FUNCTIONS.sql(schema);
        database.withConnection("conversation.installFunctions", true, connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.execute(ddl);
                Database.logWarnings("conversation.installFunctions", null, statement);
            }
            return null;
        });
    }

    // ---------------------------------------------------------------- helpers

    /** Encodes {@code value} and checks that it is a JSON object of acceptable size. */
    private String jsonObject(String name, Object value) {
        Checks.notNull(name, value);
        String json = codec.encode(value);
        if (json == null || !json.stripLeading().startsWith("{")) {
            throw new IllegalArgumentException(name + " must be a JSON object (a map or a record), not "
                    + (json == null ? "null" : describe(json)));
        }
        return Check.json(name, json);
    }

    private static String describe(String json) {
        String s = json.stripLeading();
        if (s.startsWith("[")) {
            return "an array";
        }
        if (s.startsWith("\"")) {
            return "a string";
        }
        return s.equals("null") ? "null" : "a " + (s.equals("true") || s.equals("false") ? "boolean" : "number");
    }

    private static void timestamp(PreparedStatement statement, int index, Instant instant) throws SQLException {
        if (instant == null) {
            statement.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
        } else {
            statement.setObject(index, OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
        }
    }
}
