#ifndef SERVER_INTERNAL_H
#define SERVER_INTERNAL_H
/* The HTTP layer over the connection core (conn.h); shared by server.c
 * (states, timers, answers) and conn_work.c (parser callbacks, threadpool
 * work, the upload pump). */
#include <uv.h>

#include "conn.h"
#include "handlers.h"
#include "http_req.h"
#include "server.h"

#define UPLOAD_CHUNK CONN_CHUNK  /* body bytes hashed and written per work item */

enum hconn_state {
	CS_READ = 0, /* waiting for or reading a request head */
	CS_BEGIN,    /* an upload is being checked on the threadpool */
	CS_BODY,     /* reading a request body */
	CS_WORK,     /* the answer is being made on the threadpool */
	CS_SEND,     /* writing the answer */
	CS_LINGER,   /* answered with Connection: close; draining input */
};

/* What the parser callbacks ask the connection to do once it pauses. */
enum conn_action { ACT_NONE = 0, ACT_BEGIN, ACT_COMPLETE };

enum work_kind { WORK_BEGIN, WORK_HANDLE, WORK_CHUNK, WORK_FINISH };

/* One HTTP connection: the core's struct conn, then the request state. */
struct hconn {
	struct conn c;
	struct server *srv;
	enum hconn_state state;

	struct http_in in;
	enum conn_action action;
	int paused;
	char *pending;               /* unparsed bytes kept while paused;
	                              * CONN_READ_BUF bytes, only while needed */
	size_t pending_off, pending_len;

	struct request req;
	struct resp resp;
	enum vsp_err route_err;      /* a body-less request that gets an error */
	const char *route_msg;
	const char *allow;           /* Allow header for 405 */
	int close_after;

	enum work_kind work_kind;
	int work_ok;                 /* WORK_BEGIN: go on with the body */

	/* Uploads: the loop fills one pool chunk while the threadpool writes
	 * the other. */
	int is_upload;
	struct upload up;
	char *fill, *spare;
	size_t fill_len;
	char *work_buf;
	size_t work_len;
	int body_done;
};

struct server {
	uv_loop_t *loop;
	struct conn_server *cs;
	struct server_config cfg;
	struct store *store;         /* VSP; NULL for another service */
	struct http_service svc;     /* the service when store is NULL */
	struct conn_proto proto;
	char busy[256];              /* the 503 for a connection over the cap */
	void (*stop_cb)(void *arg);
	void *stop_arg;
	uint64_t requests;
};

/* server.c */
void conn__update(struct hconn *h);
void conn__resume(struct hconn *h);
void conn__send(struct hconn *h);
void conn__send_error(struct hconn *h, enum vsp_err err, const char *msg, const char *allow);
void conn__route_error(struct hconn *h, enum vsp_err err, const char *msg, const char *allow);

/* conn_work.c */
void conn__init_parser(struct hconn *h);
void conn__start_work(struct hconn *h, enum work_kind kind);
void conn__work(struct conn *c);
void conn__after_work(struct conn *c);
void conn__request_complete(struct hconn *h);
void conn__pump_upload(struct hconn *h);
void conn__free_request(struct hconn *h);

#endif
