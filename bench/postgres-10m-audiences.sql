-- Audience queries at 10M members on PostgreSQL, with the indexes Mosaic's migrations create.
-- Run: createdb -h 127.0.0.1 -U postgres am10 && psql -h 127.0.0.1 -U postgres -d am10 -f bench/postgres-10m-audiences.sql; dropdb -h 127.0.0.1 -U postgres am10
-- (about 5 minutes to fill on a 2-vCPU machine; the timings print at the end).
CREATE TABLE audience_members (audience text COLLATE "C" NOT NULL, profile_id text COLLATE "C" NOT NULL, since bigint NOT NULL, PRIMARY KEY (audience, profile_id));
CREATE INDEX audience_members_by_profile ON audience_members (profile_id);
CREATE TABLE audience_counts (audience text COLLATE "C" NOT NULL, shard integer NOT NULL, members bigint NOT NULL, PRIMARY KEY (audience, shard));
INSERT INTO audience_members SELECT 'aud' || (i % 10), 'p' || md5(i::text), i FROM generate_series(1, 10000000) i;
INSERT INTO audience_counts SELECT audience, 0, count(*) FROM audience_members GROUP BY audience;
ANALYZE audience_members;
\timing on
-- A page of members after a cursor (GET /v1/audiences/:name/members).
SELECT profile_id, since FROM audience_members WHERE audience = 'aud3' AND profile_id > 'p8' ORDER BY profile_id LIMIT 1000 \g /dev/null
-- The audiences of a few profiles (every batch's audience evaluation).
SELECT profile_id, audience FROM audience_members WHERE profile_id = ANY(ARRAY['p' || md5('5'), 'p' || md5('77')]) \g /dev/null
-- Sizes as the API reads them, and as a count over the members would (before audience_counts).
SELECT audience, sum(members) FROM audience_counts GROUP BY audience HAVING sum(members) > 0 \g /dev/null
SELECT audience, count(*) FROM audience_members GROUP BY audience \g /dev/null
