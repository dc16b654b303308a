// Shared by the scripts that pytest runs (tests/sdk/test_js_sdks.py): read one JSON job from stdin, write one JSON
// answer to stdout. A failure of the SDK call is an answer too ({"error": ...}), so pytest can say what went wrong.
"use strict";

async function readJob() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function describeError(error) {
  return {
    name: error && error.name,
    statusCode: error && error.statusCode,
    code: error && error.code,
    message: String(error && error.message),
  };
}

async function answer(work) {
  let output;
  try {
    output = await work(await readJob());
  } catch (error) {
    output = { error: describeError(error) };
  }
  process.stdout.write(JSON.stringify(output));
}

module.exports = { answer, describeError };
