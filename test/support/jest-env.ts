// Tests do not print EMF metrics unless a test builds its own Metrics (the leak audit does).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
