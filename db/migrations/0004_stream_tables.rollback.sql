DROP TABLE lp.stream_viewers CASCADE;
DROP TABLE lp.streams CASCADE;
