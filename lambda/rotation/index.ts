import { createRotationHandler } from './handler';

/** The Lambda entry point: `index.handler`. */
export const handler = createRotationHandler();
