package dev.pgkit.persistence;

import dev.pgkit.internal.Context;

/** Queries for projections (built on the foundation's ordered-log reader). */
public final class PersistenceQueries {
    PersistenceQueries(Context context, PersistenceSql sql, EventJournal journal, String channel) {
    }
}
