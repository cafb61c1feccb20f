CREATE TABLE ${schema}.context_test (id int PRIMARY KEY);
