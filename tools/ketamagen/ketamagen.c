/*
 * ketamagen prints, for a list of servers, which server libmemcached picks
 * for each of a run of generated keys. Its output is the golden file that
 * ketama/ketama_test.go compares the Go implementation against.
 *
 * Usage:
 *   ketamagen ketama SERVERS NKEYS
 *   ketamagen ketama-unweighted HASH SERVERS NKEYS
 *   ketamagen modula HASH SERVERS NKEYS
 *
 * SERVERS is a comma-separated list of host:port:weight. HASH is one of
 * default, md5, crc, fnv1_32, fnv1a_32, fnv1_64, fnv1a_64. "ketama" sets
 * MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (md5 keys, 160 points per server scaled
 * by weight); "ketama-unweighted" sets MEMCACHED_BEHAVIOR_KETAMA (100
 * points per server, each the HASH of "host:port-N"; weights must be 1, as
 * libmemcached switches to weighted mode for any larger weight); "modula"
 * keeps the default modulo distribution.
 *
 * Output: comment lines starting with '#', then one "key<TAB>index" line per
 * key, where index is the server's position in SERVERS.
 *
 * Build: gcc -O2 -Wall -o ketamagen ketamagen.c -lmemcached
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hash_by_name(const char *name, memcached_hash_t *out) {
  static const struct {
    const char *name;
    memcached_hash_t hash;
  } table[] = {
      {"default", MEMCACHED_HASH_DEFAULT}, {"md5", MEMCACHED_HASH_MD5},
      {"crc", MEMCACHED_HASH_CRC},         {"fnv1_32", MEMCACHED_HASH_FNV1_32},
      {"fnv1a_32", MEMCACHED_HASH_FNV1A_32}, {"fnv1_64", MEMCACHED_HASH_FNV1_64},
      {"fnv1a_64", MEMCACHED_HASH_FNV1A_64},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (strcmp(table[i].name, name) == 0) {
      *out = table[i].hash;
      return 0;
    }
  }
  return -1;
}

static int add_servers(memcached_st *memc, const char *list) {
  char *copy = strdup(list);
  if (copy == NULL) return -1;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    char host[256];
    unsigned port, weight;
    if (sscanf(tok, "%255[^:]:%u:%u", host, &port, &weight) != 3) {
      fprintf(stderr, "ketamagen: bad server %s (want host:port:weight)\n", tok);
      free(copy);
      return -1;
    }
    memcached_return_t rc = memcached_server_add_with_weight(memc, host, (in_port_t) port, weight);
    if (rc != MEMCACHED_SUCCESS) {
      fprintf(stderr, "ketamagen: add %s: %s\n", tok, memcached_strerror(memc, rc));
      free(copy);
      return -1;
    }
  }
  free(copy);
  return 0;
}

/* key_for makes a mix of key shapes: short, YCSB-like, and keys with bytes
 * above 0x7f, which libhashkit's hashes sign-extend. */
static int key_for(unsigned i, char *buf, size_t size) {
  switch (i % 4) {
  case 0: return snprintf(buf, size, "key-%u", i);
  case 1: return snprintf(buf, size, "user%u", i * 2654435761u);
  case 2: return snprintf(buf, size, "\xc3\xa9t\xc3\xa9-%u", i);
  default: return snprintf(buf, size, "k%u", i);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) goto usage;
  int ketama = strcmp(argv[1], "ketama") == 0;
  int unweighted = strcmp(argv[1], "ketama-unweighted") == 0;
  int modula = strcmp(argv[1], "modula") == 0 || unweighted;
  if ((ketama && argc != 4) || (modula && argc != 5) || (!ketama && !modula)) goto usage;

  const char *servers = ketama ? argv[2] : argv[3];
  long nkeys = strtol(ketama ? argv[3] : argv[4], NULL, 10);
  if (nkeys <= 0 || nkeys > 10000000) {
    fprintf(stderr, "ketamagen: bad key count\n");
    return 2;
  }

  memcached_st *memc = memcached_create(NULL);
  if (memc == NULL) return 1;
  if (ketama) {
    if (memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) return 1;
  } else {
    memcached_hash_t h;
    if (hash_by_name(argv[2], &h) != 0) {
      fprintf(stderr, "ketamagen: unknown hash %s\n", argv[2]);
      return 2;
    }
    if (unweighted && memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA, 1) != MEMCACHED_SUCCESS) return 1;
    if (memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, h) != MEMCACHED_SUCCESS) return 1;
  }
  if (add_servers(memc, servers) != 0) return 2;

  printf("# libmemcached %s\n", memcached_lib_version());
  if (ketama)
    printf("# ketamagen ketama %s %ld\n", servers, nkeys);
  else
    printf("# ketamagen %s %s %s %ld\n", argv[1], argv[2], servers, nkeys);
  char key[128];
  for (long i = 0; i < nkeys; i++) {
    int n = key_for((unsigned) i, key, sizeof(key));
    printf("%s\t%u\n", key, memcached_generate_hash(memc, key, (size_t) n));
  }
  memcached_free(memc);
  return 0;

usage:
  fprintf(stderr, "usage: ketamagen ketama SERVERS NKEYS | ketamagen (ketama-unweighted|modula) HASH SERVERS NKEYS\n");
  return 2;
}
