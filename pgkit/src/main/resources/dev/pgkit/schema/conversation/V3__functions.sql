-- BuilderBot's two functions, under its exact signatures (names, parameter names and types, VOID), so
-- that a Node bot calling `SELECT save_or_update_history_and_contact($1, ...)` keeps working, with
-- race-free bodies: each is one upsert on the unique phone (version 2) instead of a look-up followed by
-- an insert, so concurrent first messages of one phone create one contact. Timestamps are UTC.
-- Differences from the seed's bodies, besides atomicity: a new contact gets last_interaction at its first
-- message (the seed leaves it NULL until the second), and created_at is written explicitly.
-- If BuilderBot's adapter re-creates its own bodies (it runs CREATE OR REPLACE at every start), the
-- unique index still forbids a second contact per phone: a racing first message then fails with a
-- unique violation instead of creating a duplicate. ConversationStore#installFunctions puts these back.
CREATE OR REPLACE FUNCTION ${schema}.save_or_update_contact(
  in_phone VARCHAR(255),
  in_values JSONB
)
RETURNS VOID AS $fn$
BEGIN
  INSERT INTO ${schema}.contact AS c (phone, "values", created_at)
  VALUES (in_phone, in_values, now() AT TIME ZONE 'UTC')
  ON CONFLICT (phone) DO UPDATE SET "values" = EXCLUDED."values", updated_in = now() AT TIME ZONE 'UTC';
END;
$fn$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ${schema}.save_or_update_history_and_contact(
  in_ref VARCHAR(255),
  in_keyword VARCHAR(255),
  in_answer TEXT,
  in_refserialize TEXT,
  in_phone VARCHAR(255),
  in_options JSONB
)
RETURNS VOID AS $fn$
BEGIN
  WITH touched AS (
    INSERT INTO ${schema}.contact AS c (phone, created_at, last_interaction)
    VALUES (in_phone, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
    ON CONFLICT (phone) DO UPDATE SET last_interaction = EXCLUDED.last_interaction
    RETURNING c.id)
  INSERT INTO ${schema}.history (ref, keyword, answer, refserialize, phone, options, contact_id, created_at)
  SELECT in_ref, in_keyword, in_answer, in_refserialize, in_phone, in_options, touched.id, now() AT TIME ZONE 'UTC'
  FROM touched;
END;
$fn$ LANGUAGE plpgsql;
