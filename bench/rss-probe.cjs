// Wraps the bundled rotation handler and records the process's peak RSS after
// every invocation, for the rotation benchmark's memory figure.
const { writeFileSync } = require('node:fs');
const bundle = require(process.env.ROTOR_BENCH_BUNDLE);

exports.handler = async (event, context) => {
  try {
    return await bundle.handler(event, context);
  } finally {
    writeFileSync(process.env.ROTOR_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
  }
};
