/** The throwaway MariaDB servers live in local/ (the demo starts them too). */
export * from '../../local/mariadb-server';
