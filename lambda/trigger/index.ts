import { createTriggerHandler } from './handler';

/** The Lambda entry point: `index.handler`. */
export const handler = createTriggerHandler();
