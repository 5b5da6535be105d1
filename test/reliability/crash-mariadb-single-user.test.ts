import { defineCrashMatrix } from './crash/define-crash-matrix';

defineCrashMatrix({ engine: 'mariadb', strategy: 'single-user' });
