-- Which ACS api-version sent an outgoing message, the send options that shaped its delivery report
-- (JSON: reportTimeoutSeconds, messagingConnectPartner; never a partner's keys), and an MMS's attachments
-- (JSON: [{mimeType, content (base64)}]). NULL for inbound messages and for messages stored before this migration.
ALTER TABLE messages ADD COLUMN api_version TEXT;
ALTER TABLE messages ADD COLUMN send_options TEXT;
ALTER TABLE messages ADD COLUMN attachments TEXT;
