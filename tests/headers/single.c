/*
 * `make headers` compiles this file once for every header of protocol/, s3/,
 * client/, vaultd/ and replicator/, with HEADER its path and the include
 * flags of its folder (Makefile, INC_*): a header must compile on its own,
 * needing nothing included before it (STYLE.md 2, as libcperciva's
 * tests/buildsingles). It is included twice to check its include guard.
 */
#include HEADER
#include HEADER
