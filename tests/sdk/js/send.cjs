// SmsClient.send from @azure/communication-sms (job.package: the stable name or the beta's npm alias), over TLS
// from the connection string; job.options go to the SDK as SmsSendOptions unchanged.
"use strict";
const { answer } = require("./common.cjs");

answer(async (job) => {
  const { SmsClient } = require(job.package);
  const client = new SmsClient(job.connectionString);
  const results = await client.send({ from: job.from, to: job.to, message: job.message }, job.options || {});
  return { results };
});
