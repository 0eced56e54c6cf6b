// Fuzz target: RESP request parsing as the Redis proxy does it (proxy/redis_connection.cpp,
// client_reader): the proxy has no parser of its own but hands the client's bytes to hiredis's
// redisReader and walks each reply as a command array. This repeats that walk on the fuzzer's
// bytes, fed in two pieces (as two reads would deliver them). The system hiredis is not built with
// coverage instrumentation, so the fuzzer sees only this harness's branches; it still catches
// memory errors (ASan intercepts the allocations) and malformed replies the walk trusts.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

// Drains every complete reply; false on a protocol error (the proxy answers -ERR and closes).
bool drain(redisReader* reader, std::size_t& name_bytes) {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) return false;
    if (!raw) return true;
    std::unique_ptr<redisReply, ReplyDeleter> cmd(static_cast<redisReply*>(raw));
    if (cmd->type != REDIS_REPLY_ARRAY || cmd->elements == 0) continue;
    bool ok = true;
    for (std::size_t i = 0; i < cmd->elements; ++i) {
      const redisReply* a = cmd->element[i];
      if (a == nullptr) __builtin_trap();
      if (a->type != REDIS_REPLY_STRING && a->type != REDIS_REPLY_STATUS) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    // The proxy copies the command name out of element 0 (argv[0], argl[0]).
    const std::string name(cmd->element[0]->str, cmd->element[0]->len);
    name_bytes += name.size();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::unique_ptr<redisReader, ReaderDeleter> reader(redisReaderCreate());
  const char* bytes = reinterpret_cast<const char*>(data);
  const std::size_t first = size / 2;
  std::size_t name_bytes = 0;
  if (redisReaderFeed(reader.get(), bytes, first) != REDIS_OK) return 0;
  if (!drain(reader.get(), name_bytes)) return 0;
  if (redisReaderFeed(reader.get(), bytes + first, size - first) != REDIS_OK) return 0;
  drain(reader.get(), name_bytes);
  return 0;
}
