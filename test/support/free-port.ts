export { freePort } from '../../local/free-port';
