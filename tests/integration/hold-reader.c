/* hold-reader.c - test tool: opens an LMDB environment, starts a read
 * transaction and keeps it until killed, the way a stuck reader pins every
 * page freed after its snapshot so writers run out of map. */
#include <lmdb.h>
#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: hold-reader DB_DIR\n");
		return 2;
	}
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 4)) ||
	    (rc = mdb_env_open(env, argv[1], MDB_RDONLY, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))) {
		fprintf(stderr, "hold-reader: %s\n", mdb_strerror(rc));
		return 1;
	}
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}
