// `modelc serve`: the OpenAI-compatible HTTP server (cpp-httplib).
//
//   GET  /health                 {"status": "ok", slots busy / queued}
//   GET  /v1/models              the served model, with source_hash and sha256
//   GET  /v1/models/{id}
//   POST /v1/completions         text completion (stream: SSE, data: [DONE])
//   POST /v1/chat/completions    chat, rendered with the model's chat template
//
// Errors are OpenAI's {"error": {...}} JSON with the right status: 400 bad
// request body, 401 missing/wrong bearer key (/v1/* only, when a key is
// set), 404 unknown route or model, 405 wrong method, 413 body too large.
// Requests decode in --parallel slots (serve/slots.h), each on its own
// thread with --threads kernel threads; more requests wait in FIFO order.
//
// Hostile or broken clients (docs/serve.md, "Timeouts"): each connection has
// an HTTP thread of its own, started on demand up to --max-connections (more
// wait in FIFO order for one). A connection that sends no request for
// --timeout-idle seconds is closed; a request (head and body) that has not
// fully arrived --timeout-read seconds after its first byte gets 408 and the
// connection is closed (a client sending a byte a second cannot hold a thread
// for long); a client that takes none of its response for --timeout-write
// seconds is dropped, and its slot freed.
#pragma once
#include <memory>
#include <string>

#include "util/status.h"

namespace modelc::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;       // 0: any free port
  std::string api_key;   // "" = no authentication
  int parallel = 2;      // decode slots
  int threads = 1;       // kernel threads per slot
  int token_delay_ms = 0;  // test hook (serve/generate.h)
  int timeout_read_s = 10;   // a request must arrive within this after its first byte
  int timeout_write_s = 10;  // a client that takes no data for this long is dropped
  int timeout_idle_s = 5;    // a connection with no request for this long is closed
  int max_connections = 512; // connections served at once (one HTTP thread each)
  bool log = true;       // one line per request on stderr
};

class Server {
 public:
  // Loads the model binary and makes the slots. Errors name the file.
  static Status Create(const std::string& model_path, const ServeOptions& o,
                       std::unique_ptr<Server>* out);
  ~Server();

  // Binds host:port; *port receives the bound port (useful with port 0).
  Status Bind(int* port);
  // Serves until Stop() (from another thread). REQUIRES: Bind succeeded.
  void Run();
  void Stop();

  const std::string& model_id() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelc::serve
