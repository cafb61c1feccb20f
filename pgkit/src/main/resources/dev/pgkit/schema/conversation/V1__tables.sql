-- BuilderBot's tables (@builderbot/database-postgres), column for column as its adapter creates them,
-- so that a BuilderBot Node bot and a Java service can share them (IF NOT EXISTS: either side may have
-- created them first). The timestamp columns are `timestamp` without time zone, as the seed has them:
-- pgkit writes them in UTC (now() AT TIME ZONE 'UTC'), whatever a session's TimeZone.
CREATE TABLE IF NOT EXISTS ${schema}.contact (
  id SERIAL PRIMARY KEY,
  phone VARCHAR(255) DEFAULT NULL,
  created_at TIMESTAMP DEFAULT current_timestamp,
  updated_in TIMESTAMP,
  last_interaction TIMESTAMP,
  values JSONB
);
CREATE TABLE IF NOT EXISTS ${schema}.history (
  id SERIAL PRIMARY KEY,
  ref VARCHAR(255) NOT NULL,
  keyword VARCHAR(255),
  answer TEXT NOT NULL,
  refSerialize TEXT NOT NULL,
  phone VARCHAR(255) DEFAULT NULL,
  options JSONB,
  created_at TIMESTAMP DEFAULT current_timestamp,
  updated_in TIMESTAMP,
  contact_id INTEGER REFERENCES ${schema}.contact(id)
);
-- The indexes the seed recommends, by its names. Two are left out on purpose: idx_contact_phone, whose
-- place the unique index of version 2 takes, and idx_history_phone (history(phone)), which
-- history_phone_created_idx below covers (a phone's newest entry, its pages and its time ranges).
CREATE INDEX IF NOT EXISTS idx_history_created ON ${schema}.history (created_at DESC);
CREATE INDEX IF NOT EXISTS idx_history_contact ON ${schema}.history (contact_id);
CREATE INDEX IF NOT EXISTS idx_contact_last_interaction ON ${schema}.contact (last_interaction DESC);
CREATE INDEX IF NOT EXISTS idx_contact_values ON ${schema}.contact USING GIN (values);
-- pgkit's: getPrevByNumber, history pages newest first and time ranges of one phone, without a sort.
CREATE INDEX IF NOT EXISTS history_phone_created_idx ON ${schema}.history (phone, created_at DESC, id DESC);
