-- 0024_moderation_events: a stream event for moderation actions on a live stream (issue 8, section 5): a
-- viewer removed by the host's block. Frozen once landed.
SET ROLE livepanty_owner;
ALTER TYPE lp.stream_event_kind ADD VALUE 'moderation';
RESET ROLE;
