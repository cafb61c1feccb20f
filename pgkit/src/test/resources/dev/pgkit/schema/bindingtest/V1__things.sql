CREATE TABLE ${schema}.${things} (id bigint PRIMARY KEY, body text NOT NULL);
CREATE INDEX "${things:name}_body_idx" ON ${schema}.${things} (body);
