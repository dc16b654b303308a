// The beta's opt-out client (SmsClient.optOuts): add, check, remove, check again for the same recipients.
"use strict";
const { answer, describeError } = require("./common.cjs");

answer(async (job) => {
  const { SmsClient } = require(job.package);
  const client = new SmsClient(job.connectionString);
  const steps = {};
  for (const [step, call] of [
    ["add", () => client.optOuts.add(job.from, job.to)],
    ["checkAfterAdd", () => client.optOuts.check(job.from, job.to)],
    ["remove", () => client.optOuts.remove(job.from, job.to)],
    ["checkAfterRemove", () => client.optOuts.check(job.from, job.to)],
  ]) {
    try {
      steps[step] = { results: await call() };
    } catch (error) {
      steps[step] = { error: describeError(error) };
    }
  }
  return steps;
});
