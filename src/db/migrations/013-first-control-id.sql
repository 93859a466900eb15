-- The first message an institution sends under a control id is the one not flagged
-- `control-id-reused`, and it is unique. The archive then stores a message in one statement,
-- without a transaction or a lock (it took five round trips), and a second message under a used
-- control id still learns that it reuses it, even when both arrive at the same moment: its
-- insert meets this index and is stored flagged.
-- Before the index: any unflagged row that has an earlier unflagged row with the same control id
-- is flagged, as the archive would have flagged it on arrival.
UPDATE inbound_message m
   SET flags = array_append(m.flags, 'control-id-reused')
 WHERE NOT ('control-id-reused' = ANY (m.flags))
   AND EXISTS (
     SELECT 1 FROM inbound_message o
      WHERE o.institution = m.institution AND o.control_id = m.control_id
        AND NOT ('control-id-reused' = ANY (o.flags))
        AND (o.received_at, o.id) < (m.received_at, m.id));

CREATE UNIQUE INDEX inbound_message_first_control_id ON inbound_message (institution, control_id)
  WHERE NOT ('control-id-reused' = ANY (flags));
