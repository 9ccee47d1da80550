'use strict';
// What every Node.js SDK driver shares: the plan, the test's DNS, the per-call record window.
// The plan and the result lines are those of plan.py (see there).

const dns = require('dns');
const fs = require('fs');

function load() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  pointNamesAt(plan.hosts || {});
  return plan;
}

// The organisation's DNS, for the test: names under a suffix resolve to its address.
function pointNamesAt(hosts) {
  const entries = Object.entries(hosts);
  if (entries.length === 0) return;
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    const name = String(hostname).toLowerCase();
    const hit = entries.find(([suffix]) => name === suffix || name.endsWith('.' + suffix));
    return original.call(dns, hit ? hit[1] : hostname, options, callback);
  };
}

function recordSize(path) {
  return fs.existsSync(path) ? fs.statSync(path).size : 0;
}

function recorded(path, start) {
  const text = fs.readFileSync(path).subarray(start).toString('utf8');
  return text.split('\n').filter((line) => line).map((line) => JSON.parse(line));
}

// Runs each call through `callOne(call, credentials)` and prints its result line.
async function run(plan, callOne) {
  const issued = {};
  for (const call of plan.calls) {
    const credentials = call.credentials_from
      ? issued[call.credentials_from]
      : { key: call.key, secret: call.secret };
    const start = recordSize(plan.record);
    const result = { id: call.id };
    try {
      Object.assign(result, await callOne(call, credentials), { ok: true });
    } catch (error) {
      Object.assign(result, {
        ok: false,
        error: String(error && error.message ? `${error.name}: ${error.message}` : error),
        type: error && error.name,
        code: error && (error.code || (error.data && error.data.Code)) || null,
        status: error && (error.statusCode || (error.entry && error.entry.response
          && error.entry.response.statusCode)) || null,
      });
    }
    result.recorded = recorded(plan.record, start);
    if (result.credentials) issued[call.id] = result.credentials;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
}

module.exports = { load, run };
