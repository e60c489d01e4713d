// modelc serve MODEL.gguf [--host H] [--port P] [--api-key KEY] [--parallel N] [--threads T] [--json]
//              [--timeout-read S] [--timeout-write S] [--timeout-idle S] [--max-connections N]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kernels/isa.h"
#include "serve/server.h"

namespace modelc {

namespace {

struct ServeCliOpts {
  std::string model;
  serve::ServeOptions s;
  bool json = false;
  bool quiet = false;
};

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int Serve(ServeCliOpts o) {
  if (o.s.api_key.empty())
    if (const char* k = std::getenv("MODELC_API_KEY")) o.s.api_key = k;
  o.s.log = !o.quiet;
  // Each slot decodes on its own thread with --threads kernel threads.
  SetNumThreads(o.s.threads);
  // SIGINT / SIGTERM stop the server from a thread of their own (blocked
  // here, before any other thread exists, so every thread inherits the mask).
  // A client that goes away mid-write must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<serve::Server> server;
  Status st = serve::Server::Create(o.model, o.s, &server);
  int port = 0;
  if (st.ok()) st = server->Bind(&port);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  if (!IsLoopback(o.s.host) && o.s.api_key.empty())
    std::fprintf(stderr,
                 "modelc serve: warning: listening on %s without --api-key: anyone who can reach "
                 "this address can use the model\n",
                 o.s.host.c_str());
  const std::string host = o.s.host.find(':') != std::string::npos ? "[" + o.s.host + "]" : o.s.host;
  const std::string url = "http://" + host + ":" + std::to_string(port);
  if (o.json) {
    nlohmann::json j = {{"url", url},
                        {"host", o.s.host},
                        {"port", port},
                        {"model", server->model_id()},
                        {"parallel", o.s.parallel},
                        {"threads", o.s.threads},
                        {"auth", !o.s.api_key.empty()}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("serving %s on %s (%d slots x %d threads%s)\n", server->model_id().c_str(),
                url.c_str(), o.s.parallel, o.s.threads, o.s.api_key.empty() ? "" : ", API key required");
  }
  std::fflush(stdout);

  serve::Server* srv = server.get();
  std::thread waiter([srv, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    srv->Stop();
  });
  waiter.detach();
  server->Run();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve a model binary over an OpenAI-compatible HTTP API (/v1/completions, "
               "/v1/chat/completions, /v1/models, /health)");
  auto o = std::make_shared<ServeCliOpts>();
  o->s.parallel = 2;
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  cmd->add_option("--host", o->s.host, "Address to listen on (default loopback only)");
  cmd->add_option("--port", o->s.port, "TCP port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o->s.api_key,
                  "Require 'Authorization: Bearer KEY' on /v1/* (default: $MODELC_API_KEY; none)");
  cmd->add_option("--parallel", o->s.parallel,
                  "Requests decoded at the same time, each with its own KV cache; more wait in a queue")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-t,--threads", o->s.threads,
                  "Kernel threads per decoding request (total: parallel x threads)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--timeout-read", o->s.timeout_read_s,
                  "Seconds a client has to send a whole request once it starts; slower ones get 408 (default 10)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--timeout-write", o->s.timeout_write_s,
                  "Seconds a client may take no data before it is dropped and its slot freed (default 10)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--timeout-idle", o->s.timeout_idle_s,
                  "Seconds an open connection may wait without a request before it is closed (default 5)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--max-connections", o->s.max_connections,
                  "Connections served at once, one thread each (idle ones too); more wait in a queue "
                  "(default 512)")
      ->check(CLI::Range(1, 65536));
  cmd->add_flag("--json", o->json, "Print the start-up line (url, port, model) as JSON");
  cmd->add_flag("-q,--quiet", o->quiet, "No per-request log lines on stderr");
  // Test hook: sleep this long before each token (simulates a slow machine,
  // so tests can disconnect mid-stream). Not shown in --help.
  cmd->add_option("--debug-token-delay-ms", o->s.token_delay_ms)->group("")->check(CLI::Range(0, 10000));
  cmd->callback([o, exit_code] { *exit_code = Serve(*o); });
}

}  // namespace modelc
