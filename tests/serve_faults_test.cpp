// `modelc serve` under hostile clients, driven over raw POSIX sockets: a
// request sent a byte a second, 200 connections that send nothing, and a
// client that asks for a stream and never reads it. Meanwhile other clients
// must be served within a bound, and afterwards the slots and connections
// must be back (nothing leaks), and the server must stop cleanly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"

namespace modelc {
namespace {

using namespace testutil;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Generous for a loaded 2-core machine; without the fixes the idle
// connections alone delay a request by 10-15 s.
constexpr double kBoundS = 5.0;
// The server's timeouts in this test (short, to keep it quick).
constexpr int kReadS = 2, kWriteS = 2, kIdleS = 3;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int Connect(int port, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, (sockaddr*)&a, sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += (size_t)n;
  }
  return true;
}

// Reads until the peer closes or `timeout_s` passes; *closed says which.
std::string ReadUntilClosed(int fd, double timeout_s, bool* closed) {
  std::string out;
  *closed = false;
  const auto t0 = Clock::now();
  char buf[16384];
  while (Since(t0) < timeout_s) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, 50);
    if (r <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *closed = true;
      break;
    }
    out.append(buf, (size_t)n);
  }
  return out;
}

std::string Request(const std::string& method, const std::string& path, const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty())
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

struct HttpResult {
  int status = 0;
  std::string body;
  double seconds = 0;
};

// One request on its own connection, answered within `timeout_s`.
HttpResult Http(int port, const std::string& method, const std::string& path, const std::string& body = "",
                double timeout_s = 20) {
  HttpResult res;
  const auto t0 = Clock::now();
  const int fd = Connect(port);
  if (fd < 0) return res;
  bool closed = false;
  std::string raw;
  if (SendAll(fd, Request(method, path, body))) raw = ReadUntilClosed(fd, timeout_s, &closed);
  ::close(fd);
  res.seconds = Since(t0);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) res.status = std::atoi(raw.c_str() + 9);
  const size_t b = raw.find("\r\n\r\n");
  if (b != std::string::npos) res.body = raw.substr(b + 4);
  return res;
}

const char kCompletion[] = R"({"prompt": "The ", "max_tokens": 8, "temperature": 0, "seed": 1})";

class ServeFaults : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    SourceSpec s;
    s.name = "tiny-serve-faults";
    s.n_layer = 1;
    s.n_embd = 16;
    s.context = 256;  // long streams (16 x 250 tokens, ~700 KB): more than the socket buffers hold
    s.steps = 4;
    s.eval_every = 2;
    s.corpus_bytes = 20000;
    WriteSource(*dir_ / "src", s);
    Proc p = RunModelc({"build", *dir_ / "src", "-o", *dir_ / "m.gguf", "--threads", "1", "-q"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    server_ = new Spawned(SpawnModelc({"serve", *dir_ / "m.gguf", "--port", "0", "--json", "-q", "--parallel", "2",
                                       "--timeout-read", std::to_string(kReadS), "--timeout-write",
                                       std::to_string(kWriteS), "--timeout-idle", std::to_string(kIdleS)}));
    std::string line;
    for (int i = 0; i < 10000 && line.empty(); ++i) {
      const std::string out = PeekFd(server_->out_fd);
      if (out.find('\n') != std::string::npos) line = out.substr(0, out.find('\n'));
      else ::usleep(2000);
    }
    ASSERT_FALSE(line.empty()) << "serve printed no start-up line: " << PeekFd(server_->err_fd);
    port_ = json::parse(line)["port"].get<int>();
  }
  static void TearDownTestSuite() {
    if (server_ && server_->pid > 0) {
      // Stops within a few seconds, every connection thread ended.
      ::kill(server_->pid, SIGTERM);
      const auto t0 = Clock::now();
      int status = 0;
      while (::waitpid(server_->pid, &status, WNOHANG) == 0 && Since(t0) < 15) ::usleep(10000);
      if (Since(t0) >= 15) {
        ADD_FAILURE() << "serve did not stop within 15 s of SIGTERM";
        ::kill(server_->pid, SIGKILL);
        ::waitpid(server_->pid, &status, 0);
      } else {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "serve exit status " << status;
      }
      server_->pid = -1;
      WaitModelc(*server_);
    }
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  static json Health() {
    HttpResult h = Http(port_, "GET", "/health");
    EXPECT_EQ(h.status, 200) << h.body;
    return h.status == 200 ? json::parse(h.body) : json::object();
  }
  // A normal completion: 200, within the bound.
  static void ExpectServedPromptly(const char* what) {
    HttpResult r = Http(port_, "POST", "/v1/completions", kCompletion);
    EXPECT_EQ(r.status, 200) << what << ": " << r.body;
    EXPECT_LT(r.seconds, kBoundS) << what;
    EXPECT_TRUE(Contains(r.body, "\"text_completion\"")) << what << ": " << r.body;
    std::printf("%s: a normal completion took %.3f s\n", what, r.seconds);
  }
  // Waits until no slot is busy and only the health check's connection is
  // open (the bad clients' connections are all gone).
  static void ExpectBackToIdle(double timeout_s) {
    const auto t0 = Clock::now();
    json h;
    while (Since(t0) < timeout_s) {
      h = Health();
      if (h.value("slots", json::object()).value("busy", -1) == 0 &&
          h.value("connections", json::object()).value("open", -1) == 1)
        break;
      ::usleep(100000);
    }
    EXPECT_EQ(h["slots"]["busy"], 0) << h.dump();
    EXPECT_EQ(h["slots"]["queued"], 0) << h.dump();
    EXPECT_EQ(h["connections"]["open"], 1) << h.dump();
  }
  static TempDir* dir_;
  static Spawned* server_;
  static int port_;
};
TempDir* ServeFaults::dir_ = nullptr;
Spawned* ServeFaults::server_ = nullptr;
int ServeFaults::port_ = 0;

TEST_F(ServeFaults, SlowClientGets408AndOthersAreServed) {
  // A completion request sent a byte a second (slowloris): httplib's read
  // timeout bounds each read, so alone it would hold a thread for hours.
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const std::string req = Request("POST", "/v1/completions", kCompletion);
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread slow([&] {
    for (size_t i = 0; i < req.size() && !stop; ++i) {
      if (!SendAll(fd, req.substr(i, 1))) break;
      ++sent;
      for (int k = 0; k < 20 && !stop; ++k) ::usleep(50000);  // 1 s
    }
  });
  ::usleep(1200000);
  ExpectServedPromptly("with a slow client");
  // The slow client gets 408 about --timeout-read after its first byte.
  const auto t0 = Clock::now();
  bool closed = false;
  const std::string got = ReadUntilClosed(fd, kReadS + 4, &closed);
  const double waited = Since(t0) + 1.2;
  stop = true;
  slow.join();
  ::close(fd);
  EXPECT_TRUE(closed) << "the server kept the slow connection open";
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_TRUE(Contains(got, "request_timeout")) << got;
  EXPECT_LT(sent.load(), (int)req.size());
  std::printf("slow client: 408 and closed %.1f s after its first byte (%d bytes sent)\n", waited, sent.load());
  EXPECT_GE(Health()["connections"]["request_timeouts"].get<int>(), 1);
  ExpectBackToIdle(5);
}

TEST_F(ServeFaults, TwoHundredIdleConnections) {
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.push_back(fd);
  }
  ::usleep(300000);
  ExpectServedPromptly("with 200 idle connections");
  // All accepted, each with a thread of its own (none starving the rest).
  json h;
  for (const auto t0 = Clock::now(); Since(t0) < 2;) {
    h = Health();
    if (h["connections"]["open"].get<int>() >= 200) break;
    ::usleep(50000);
  }
  EXPECT_GE(h["connections"]["open"].get<int>(), 200) << h.dump();
  // They are closed after --timeout-idle.
  const auto t0 = Clock::now();
  int closed_n = 0;
  for (int fd : idle) {
    bool closed = false;
    ReadUntilClosed(fd, std::max(0.1, kIdleS + 4 - Since(t0)), &closed);
    closed_n += closed;
    ::close(fd);
  }
  EXPECT_EQ(closed_n, 200);
  std::printf("200 idle connections: all closed by the server within %.1f s\n", Since(t0) + 0.3);
  ExpectBackToIdle(5);
}

TEST_F(ServeFaults, StreamNeverRead) {
  // A small receive buffer, 16 long streamed choices, and no reading: the
  // server's writes stall once the socket buffers are full.
  const int fd = Connect(port_, 4096);
  ASSERT_GE(fd, 0);
  const std::string body = R"({"prompt": "The ", "max_tokens": 250, "n": 16, "temperature": 1, "seed": 3,)"
                           R"( "stream": true})";
  ASSERT_TRUE(SendAll(fd, Request("POST", "/v1/completions", body)));
  // Wait until it holds a slot and is stuck.
  const auto t0 = Clock::now();
  json h;
  while (Since(t0) < 5) {
    h = Health();
    if (h["slots"]["busy"] == 1) break;
    ::usleep(50000);
  }
  EXPECT_EQ(h["slots"]["busy"], 1) << "the stream never took a slot: " << h.dump();
  ExpectServedPromptly("with a stream nobody reads");
  // Within --timeout-write of the stall the slot is free again, though the
  // client still holds its end open.
  ExpectBackToIdle(kWriteS + 5);
  std::printf("stream never read: slot free again %.1f s after the request\n", Since(t0));
  // What the client finally reads is a cut-off stream: no [DONE].
  bool closed = false;
  const std::string got = ReadUntilClosed(fd, 5, &closed);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 200);
  EXPECT_FALSE(Contains(got, "data: [DONE]")) << "the stream was not cut off: it fit in the buffers";
  ExpectServedPromptly("after the stream");
}

}  // namespace
}  // namespace modelc
