#include "serve/server.h"

#include <omp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>

#include "binary/model_file.h"
#include "kernels/isa.h"
#include "runtime/engine.h"
#include "runtime/tokenizer.h"
#include "serve/generate.h"
#include "serve/openai_api.h"
#include "serve/slots.h"
#include "util/sha256.h"

namespace modelc::serve {

using httplib::DataSink;
using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

constexpr size_t kMaxBodyBytes = 8u << 20;

uint64_t RandomU64() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return ((uint64_t)rd() << 32) ^ rd();
  }());
  return gen();
}

std::string RandomId(const char* prefix) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%016llx%08llx", prefix, (unsigned long long)RandomU64(),
                (unsigned long long)(RandomU64() & 0xffffffffu));
  return buf;
}

void SendJson(Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(Dump(j), "application/json");
}

void SendError(Response& res, const ApiError& e) { SendJson(res, e.status, ErrorJson(e)); }

// OpenMP's team size is a per-thread setting, and a thread that OpenMP did
// not create (an HTTP worker) starts with the default (all cores). Kernels
// and layers that open a team without num_threads() would then run with all
// cores in every slot at once: set --threads on the decoding thread.
SlotPool::Lease AcquireSlot(SlotPool& slots) {
  SlotPool::Lease lease = slots.Acquire();
  omp_set_num_threads(NumThreads());
  return lease;
}

ApiError MakeError(int status, std::string message, std::string code = "",
                   std::string type = "invalid_request_error") {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.code = std::move(code);
  e.type = std::move(type);
  return e;
}

// The method each known path takes (HEAD comes with GET).
const char* AllowedMethod(const std::string& path) {
  if (path == "/health" || path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) return "GET";
  if (path == "/v1/completions" || path == "/v1/chat/completions") return "POST";
  return nullptr;
}

// The connection a worker thread is serving (set by HttpServer).
thread_local int t_conn_sock = -1;

// Deadlines for receiving requests. httplib's read timeout bounds each read,
// not the whole request, so a client sending a byte a second would hold its
// connection thread for hours. A request armed here that has not reached its
// handler by its deadline gets 408 and its socket is shut down (the worker's
// pending read then ends and httplib closes the connection).
class RequestDeadlines {
 public:
  RequestDeadlines() : watcher_([this] { Watch(); }) {}
  ~RequestDeadlines() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    watcher_.join();
  }
  void SetResponse(std::string r) { response_ = std::move(r); }
  void Arm(int sock, std::chrono::steady_clock::time_point when) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      armed_[sock] = when;
    }
    cv_.notify_all();
  }
  void Disarm(int sock) {
    std::lock_guard<std::mutex> lk(mu_);
    armed_.erase(sock);
  }
  uint64_t fired() const { return fired_.load(std::memory_order_relaxed); }

 private:
  void Watch() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
      auto next = std::chrono::steady_clock::time_point::max();
      const auto now = std::chrono::steady_clock::now();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second <= now) {
          // Under the lock: the worker closes the socket only after Disarm.
          (void)!::send(it->first, response_.data(), response_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
          ::shutdown(it->first, SHUT_RDWR);
          fired_.fetch_add(1, std::memory_order_relaxed);
          it = armed_.erase(it);
        } else {
          next = std::min(next, it->second);
          ++it;
        }
      }
      if (next == std::chrono::steady_clock::time_point::max())
        cv_.wait(lk);
      else
        cv_.wait_until(lk, next);
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::chrono::steady_clock::time_point> armed_;
  std::string response_;
  std::atomic<uint64_t> fired_{0};
  bool stop_ = false;
  std::thread watcher_;
};

// httplib's task queue, with threads started on demand: every connection,
// idle ones included, holds a thread while it is open, so a fixed pool of N
// lets N idle connections stall everyone else until they time out. Threads
// are started while fewer than `max` run and none is free, and end after a
// minute without work; beyond `max` connections wait in FIFO order.
class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(size_t max) : max_(std::max<size_t>(1, max)) {}
  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_ < max_) {
      ++threads_;
      std::thread([this] { Work(); }).detach();
    } else {
      cv_.notify_one();
    }
  }
  void shutdown() override {
    std::unique_lock<std::mutex> lk(mu_);
    shutdown_ = true;
    cv_.notify_all();
    done_.wait(lk, [&] { return threads_ == 0; });
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      ++idle_;
      const bool got = cv_.wait_for(lk, std::chrono::seconds(60), [&] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty() && (shutdown_ || !got)) break;
      if (jobs_.empty()) continue;
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      fn();
      fn = nullptr;
      lk.lock();
    }
    --threads_;
    done_.notify_all();  // under the lock: the pool outlives this call
  }
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0, idle_ = 0;
  bool shutdown_ = false;
};

// httplib::Server with httplib's own keep-alive loop re-done around its
// request processing (process_request), to add what 0.11 lacks: a deadline
// for the whole request (RequestDeadlines) and an idle wait that sleeps in
// poll() instead of waking every 10 ms per connection.
class HttpServer : public httplib::Server {
 public:
  RequestDeadlines deadlines;
  std::chrono::seconds request_timeout{10}, idle_timeout{5};
  std::atomic<int> open_connections{0};

  // httplib 0.11 listens with a backlog of 5: a burst of connections (200
  // clients opening at once) overflows it, and the kernel's SYN retries then
  // delay connections by seconds. A second listen() raises the backlog.
  void RaiseBacklog() {
    if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, SOMAXCONN);
  }

 private:
  // Waits until `sock` has data (true), or is closed, idle too long, or the
  // server stops (false).
  bool WaitForRequest(int sock) {
    const auto until = std::chrono::steady_clock::now() + idle_timeout;
    while (svr_sock_ != INVALID_SOCKET) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{sock, POLLIN, 0};
      const int r = ::poll(&pfd, 1, (int)std::min<int64_t>(left.count(), 200));  // slices: notice stop()
      if (r < 0 && errno != EINTR) return false;
      if (r > 0) return (pfd.revents & POLLIN) != 0;
    }
    return false;
  }

  bool process_and_close_socket(socket_t sock) override {
    open_connections.fetch_add(1, std::memory_order_relaxed);
    t_conn_sock = sock;
    // A fixed send buffer (the kernel doubles it to 256 KiB) instead of
    // autotuning up to 4 MiB: plenty for a token stream, it bounds what a
    // client that stops reading pins, and the write timeout then notices
    // the stall after that much output instead of megabytes later.
    const int sndbuf = 128 << 10;
    ::setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    bool ret = false;
    for (size_t count = keep_alive_max_count_; count > 0; --count) {
      if (!WaitForRequest(sock)) break;
      deadlines.Arm(sock, std::chrono::steady_clock::now() + request_timeout);
      const bool close_connection = count == 1;
      bool connection_closed = false;
      ret = httplib::detail::process_client_socket(
          sock, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_, write_timeout_usec_,
          [&](httplib::Stream& strm) { return process_request(strm, close_connection, connection_closed, nullptr); });
      deadlines.Disarm(sock);
      if (!ret || connection_closed) break;
    }
    t_conn_sock = -1;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    open_connections.fetch_sub(1, std::memory_order_relaxed);
    return ret;
  }
};

// The request has reached its handler: its deadline no longer applies (a
// stream may then run as long as the client keeps reading it).
void RequestReceived(HttpServer& http) {
  if (t_conn_sock >= 0) http.deadlines.Disarm(t_conn_sock);
}

}  // namespace

struct Server::Impl {
  ServeOptions opt;
  LoadedModel model;
  Tokenizer tok;
  ModelInfo info;
  std::unique_ptr<SlotPool> slots;
  HttpServer http;
  std::atomic<uint64_t> requests{0};

  bool Authorized(const Request& req) const {
    const std::string h = req.get_header_value("Authorization");
    const std::string want = "Bearer " + opt.api_key;
    return h.size() == want.size() && CRYPTO_memcmp(h.data(), want.data(), h.size()) == 0;
  }

  httplib::Server::HandlerResponse PreRoute(const Request& req, Response& res) {
    requests.fetch_add(1, std::memory_order_relaxed);
    // Requests without a body are complete once routed; ones with a body
    // are disarmed by their handler, after httplib has read the body.
    if (req.get_header_value("Content-Length").empty() && !req.has_header("Transfer-Encoding"))
      RequestReceived(http);
    if (!opt.api_key.empty() && req.path.rfind("/v1/", 0) == 0 && !Authorized(req)) {
      RequestReceived(http);
      res.set_header("WWW-Authenticate", "Bearer");
      const bool missing = req.get_header_value("Authorization").empty();
      SendError(res, MakeError(401,
                               missing ? "You didn't provide an API key. Send it in the Authorization "
                                         "header: 'Authorization: Bearer KEY'."
                                       : "Incorrect API key provided.",
                               "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    const char* allowed = AllowedMethod(req.path);
    if (allowed && req.method != allowed && !(req.method == "HEAD" && std::string(allowed) == "GET")) {
      RequestReceived(http);
      res.set_header("Allow", allowed);
      SendError(res, MakeError(405, "Method " + req.method + " is not allowed for " + req.path +
                                        "; use " + allowed + ".",
                               "method_not_allowed"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  httplib::Server::HandlerResponse OnError(const Request& req, Response& res) {
    RequestReceived(http);
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = res.status;
    if (res.status == 404)
      e.message = "Invalid URL (" + req.method + " " + req.path + ")";
    else if (res.status == 413)
      e.message = "The request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes.";
    else if (res.status == 400)
      e.message = "Malformed HTTP request.";
    else
      e.message = "HTTP status " + std::to_string(res.status) + ".";
    if (res.status >= 500) e.type = "server_error";
    SendError(res, e);
    return httplib::Server::HandlerResponse::Handled;
  }

  void Health(Response& res) {
    RequestReceived(http);
    const SlotPool::Stats s = slots->stats();
    SendJson(res, 200,
             {{"status", "ok"},
              {"model", info.id},
              {"slots", {{"total", s.total}, {"busy", s.busy}, {"queued", s.queued}}},
              {"completions_started", s.served},
              {"connections",
               {{"open", http.open_connections.load()}, {"request_timeouts", http.deadlines.fired()}}}});
  }

  void Models(const Request& req, Response& res) {
    RequestReceived(http);
    if (req.path == "/v1/models") return SendJson(res, 200, ModelListJson(info));
    const std::string id = req.path.substr(std::string("/v1/models/").size());
    if (id != info.id) {
      ApiError e = MakeError(404, "The model '" + id + "' does not exist; this server serves '" +
                                      info.id + "'.",
                             "model_not_found");
      e.param = "model";
      return SendError(res, e);
    }
    SendJson(res, 200, ModelJson(info));
  }

  // The generation parameters of choice i.
  GenerateParams Params(const CompletionRequest& r, const std::vector<int>& prompt, uint64_t seed,
                        int i) const {
    GenerateParams p;
    p.prompt = prompt;
    p.max_tokens = r.max_tokens;
    p.sampler.temperature = r.temperature;
    p.sampler.top_p = r.top_p;
    p.sampler.top_k = 0;
    p.sampler.seed = seed + (uint64_t)i;
    p.stop = r.stop;
    if (r.chat) p.stop.push_back(kChatTurnEnd);
    p.token_delay_ms = opt.token_delay_ms;
    return p;
  }

  void Completion(const Request& req, Response& res, bool chat) {
    RequestReceived(http);
    auto r = std::make_shared<CompletionRequest>();
    ApiError err;
    if (!ParseCompletionRequest(req.body, chat, info, r.get(), &err)) return SendError(res, err);
    auto prompt = std::make_shared<std::vector<int>>(tok.Encode(r->prompt));
    if (!CheckPromptFits((int)prompt->size(), info.context, &err)) return SendError(res, err);
    const uint64_t seed = r->has_seed ? r->seed : RandomU64();
    const std::string id = RandomId(chat ? "chatcmpl-" : "cmpl-");
    const int64_t created = (int64_t)std::time(nullptr);

    if (!r->stream) {
      SlotPool::Lease lease = AcquireSlot(*slots);
      std::vector<ChoiceResult> choices;
      Usage u;
      u.prompt_tokens = (int)prompt->size();
      for (int i = 0; i < r->n; ++i) {
        GenerateResult g = Generate(lease.engine(), tok, Params(*r, *prompt, seed, i),
                                    [](const std::string&) { return true; });
        u.completion_tokens += g.tokens;
        choices.push_back({std::move(g.text), g.finish_reason});
      }
      lease.Release();
      return SendJson(res, 200, CompletionResponseJson(*r, id, created, info.id, choices, u));
    }

    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, r, prompt, seed, id, created](size_t, DataSink& sink) {
          auto send = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
          // Waiting in the queue happens here, after the headers went out.
          SlotPool::Lease lease = AcquireSlot(*slots);
          Usage u;
          u.prompt_tokens = (int)prompt->size();
          for (int i = 0; i < r->n; ++i) {
            if (r->chat && !send(SseEvent(StreamChunkJson(*r, id, created, info.id, i, "", "", true))))
              return false;
            GenerateResult g = Generate(
                lease.engine(), tok, Params(*r, *prompt, seed, i),
                [&](const std::string& piece) {
                  return send(SseEvent(StreamChunkJson(*r, id, created, info.id, i, piece, "")));
                },
                [&] { return sink.is_writable(); });
            if (g.cancelled) return false;  // client gone: the lease frees the slot
            u.completion_tokens += g.tokens;
            if (!send(SseEvent(StreamChunkJson(*r, id, created, info.id, i, "", g.finish_reason))))
              return false;
          }
          lease.Release();
          if (r->include_usage && !send(SseEvent(StreamUsageJson(*r, id, created, info.id, u))))
            return false;
          if (!send(SseDone())) return false;
          sink.done();
          return true;
        });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

const std::string& Server::model_id() const { return impl_->info.id; }

Status Server::Create(const std::string& model_path, const ServeOptions& o,
                      std::unique_ptr<Server>* out) {
  auto impl = std::make_unique<Impl>();
  impl->opt = o;
  MODELC_RETURN_IF_ERROR(LoadModelFile(model_path, &impl->model));
  MODELC_RETURN_IF_ERROR(Tokenizer::FromModel(impl->model, &impl->tok));
  const GgufFile& f = *impl->model.file;
  ModelInfo& info = impl->info;
  if (!f.Find("general.name") || !f.GetString("general.name", &info.id).ok() || info.id.empty())
    info.id = model_path;
  if (f.Find("modelc.source_hash")) MODELC_RETURN_IF_ERROR(f.GetString("modelc.source_hash", &info.source_hash));
  if (f.Find("tokenizer.chat_template"))
    MODELC_RETURN_IF_ERROR(f.GetString("tokenizer.chat_template", &info.chat_template));
  MODELC_RETURN_IF_ERROR(Sha256File(model_path, &info.sha256));
  info.context = impl->model.config.context;
  info.created = (int64_t)std::time(nullptr);

  std::vector<std::unique_ptr<InferenceEngine>> engines;
  for (int i = 0; i < std::max(1, o.parallel); ++i) engines.push_back(NewEngine(impl->model));
  impl->slots = std::make_unique<SlotPool>(std::move(engines));

  Impl* p = impl.get();
  HttpServer& s = p->http;
  // Timeouts (docs/serve.md): see ServeOptions and HttpServer.
  const size_t max_connections = (size_t)std::max(o.max_connections, 2 * std::max(1, o.parallel));
  s.new_task_queue = [max_connections] { return new ConnectionPool(max_connections); };
  s.request_timeout = std::chrono::seconds(std::max(1, o.timeout_read_s));
  s.idle_timeout = std::chrono::seconds(std::max(1, o.timeout_idle_s));
  s.set_read_timeout(std::max(1, o.timeout_read_s));
  s.set_write_timeout(std::max(1, o.timeout_write_s));
  s.set_keep_alive_timeout(std::max(1, o.timeout_idle_s));  // unused by HttpServer's loop; kept consistent
  s.set_keep_alive_max_count(100);
  {
    ApiError e = MakeError(408, "The request did not arrive within " + std::to_string(std::max(1, o.timeout_read_s)) +
                                    " s (--timeout-read).",
                           "request_timeout");
    const std::string body = Dump(ErrorJson(e));
    s.deadlines.SetResponse("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }
  s.set_payload_max_length(kMaxBodyBytes);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the
  // same port and silently share its connections. SO_REUSEADDR only allows a
  // restart while old connections linger in TIME_WAIT.
  s.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_tcp_nodelay(true);
  httplib::Server::HandlerWithResponse pre = [p](const Request& req, Response& res) {
    return p->PreRoute(req, res);
  };
  s.set_pre_routing_handler(pre);
  httplib::Server::HandlerWithResponse on_error = [p](const Request& req, Response& res) {
    return p->OnError(req, res);
  };
  s.set_error_handler(on_error);
  s.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, MakeError(500, "internal error: " + what, "", "server_error"));
  });
  if (o.log)
    s.set_logger([](const Request& req, const Response& res) {
      std::fprintf(stderr, "modelc serve: %s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
    });
  s.Get("/health", [p](const Request&, Response& res) { p->Health(res); });
  s.Get("/v1/models", [p](const Request& req, Response& res) { p->Models(req, res); });
  s.Get(R"(/v1/models/.+)", [p](const Request& req, Response& res) { p->Models(req, res); });
  s.Post("/v1/completions",
         [p](const Request& req, Response& res) { p->Completion(req, res, false); });
  s.Post("/v1/chat/completions",
         [p](const Request& req, Response& res) { p->Completion(req, res, true); });
  out->reset(new Server(std::move(impl)));
  return Status::OK();
}

Status Server::Bind(int* port) {
  const ServeOptions& o = impl_->opt;
  if (o.port == 0) {
    const int p = impl_->http.bind_to_any_port(o.host);
    if (p < 0) return Status::Error("cannot listen on " + o.host + " (any port)");
    *port = p;
    impl_->http.RaiseBacklog();
    return Status::OK();
  }
  if (!impl_->http.bind_to_port(o.host, o.port))
    return Status::Error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                         " (in use, or not an address of this machine?)");
  *port = o.port;
  impl_->http.RaiseBacklog();
  return Status::OK();
}

void Server::Run() { impl_->http.listen_after_bind(); }

void Server::Stop() { impl_->http.stop(); }

}  // namespace modelc::serve
