import { defineCrashMatrix } from './crash/define-crash-matrix';

defineCrashMatrix({ engine: 'postgres', strategy: 'single-user' });
