// EMF metrics on: like log lines they go to stdout, which the leak audit
// (test/support/leak-audit) captures and scans; printed only with ROTOR_TEST_LOGS=1.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'false';
// The trigger tests' logger at DEBUG and their metrics on, into the same capture
// (test/trigger/trigger-test-kit.ts quietDeps silences both unless this is set).
process.env.TRIGGER_TEST_LOGS ??= '1';
