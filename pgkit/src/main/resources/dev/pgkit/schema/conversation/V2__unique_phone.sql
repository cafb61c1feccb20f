-- One contact per phone. BuilderBot looks a phone up and then inserts, so two messages arriving
-- together may have created two contacts for one phone. Before the unique index can exist, every such
-- group is merged, deterministically: the oldest contact (lowest id) survives; the values of all of
-- them are merged in id order (a key present in several keeps the newest contact's value; values that
-- are not JSON objects are skipped); created_at becomes the earliest, updated_in and last_interaction
-- the latest; the history of the others is re-pointed to the survivor, and they are deleted. Each
-- merge is recorded in contact_merge (read by ConversationStore#merges) and summed up in a NOTICE.
-- The table is locked (inside the block, so that the script also runs outside a transaction block, as a
-- DBA may apply `pgkit schema` output) until the unique index exists, so no writer adds a duplicate meanwhile.
CREATE TABLE IF NOT EXISTS ${schema}.contact_merge (
  merged_at timestamptz NOT NULL DEFAULT now(),
  phone VARCHAR(255) NOT NULL,
  survivor_id INTEGER NOT NULL,
  merged_ids INTEGER[] NOT NULL,
  history_moved BIGINT NOT NULL
);
DO $merge$
DECLARE
  dup record;
  merged jsonb;
  item jsonb;
  moved bigint;
  phones integer := 0;
  removed integer := 0;
BEGIN
  LOCK TABLE ${schema}.contact IN ACCESS EXCLUSIVE MODE;
  FOR dup IN
    SELECT c.phone, array_agg(c.id ORDER BY c.id) AS ids
    FROM ${schema}.contact c
    WHERE c.phone IS NOT NULL
    GROUP BY c.phone
    HAVING count(*) > 1
    ORDER BY c.phone
  LOOP
    merged := NULL;
    FOR item IN SELECT c."values" FROM ${schema}.contact c WHERE c.id = ANY (dup.ids) ORDER BY c.id LOOP
      IF jsonb_typeof(item) = 'object' THEN
        merged := coalesce(merged, '{}'::jsonb) || item;
      END IF;
    END LOOP;
    UPDATE ${schema}.contact s
    SET "values" = coalesce(merged, s."values"),
        created_at = agg.created_at,
        updated_in = agg.updated_in,
        last_interaction = agg.last_interaction
    FROM (SELECT min(c.created_at) AS created_at, max(c.updated_in) AS updated_in, max(c.last_interaction) AS last_interaction
          FROM ${schema}.contact c WHERE c.id = ANY (dup.ids)) agg
    WHERE s.id = dup.ids[1];
    UPDATE ${schema}.history h SET contact_id = dup.ids[1] WHERE h.contact_id = ANY (dup.ids[2:]);
    GET DIAGNOSTICS moved = ROW_COUNT;
    DELETE FROM ${schema}.contact c WHERE c.id = ANY (dup.ids[2:]);
    INSERT INTO ${schema}.contact_merge (phone, survivor_id, merged_ids, history_moved)
    VALUES (dup.phone, dup.ids[1], dup.ids[2:], moved);
    phones := phones + 1;
    removed := removed + array_length(dup.ids, 1) - 1;
  END LOOP;
  IF phones > 0 THEN
    RAISE NOTICE 'pgkit conversation: merged % duplicate contacts of % phones into their oldest contact (see table contact_merge)',
      removed, phones;
  END IF;
  CREATE UNIQUE INDEX IF NOT EXISTS contact_phone_key ON ${schema}.contact (phone);
END
$merge$;
