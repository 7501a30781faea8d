// A C++ query that streams rows to a sink, read from Python as an iterator.
//
// The query runs on a thread of its own and hands rows through a bounded queue,
// so an iterator holds at most `capacity` rows whatever the query's size, and the
// Python thread that waits for the next row does so without the GIL. Dropping the
// iterator early makes the sink return false: the query stops at its next row and
// the thread is joined.
//
// Thread-safety: one consumer (the Python iterator, under the GIL); the producer is
// the iterator's own thread. Errors: an exception the query throws is rethrown by
// the next() that reaches it, after the rows before it.
#ifndef BUILDHIST_PYTHON_SINK_ITERATOR_H_
#define BUILDHIST_PYTHON_SINK_ITERATOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace buildhist::python {

template <typename Row>
class SinkIterator {
 public:
  using Sink = std::function<bool(Row)>;
  // `query` is run once, on the iterator's thread; it must own (or keep alive)
  // everything it reads.
  using Query = std::function<void(const Sink&)>;

  explicit SinkIterator(Query query, std::size_t capacity = 256)
      : capacity_(capacity), thread_([this, query = std::move(query)] { run(query); }) {}

  ~SinkIterator() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  SinkIterator(const SinkIterator&) = delete;
  SinkIterator& operator=(const SinkIterator&) = delete;

  // The next row, or nullopt at the end. Blocks until the query produces one: the
  // caller releases the GIL around it.
  std::optional<Row> next() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return !rows_.empty() || finished_; });
    if (!rows_.empty()) {
      Row row = std::move(rows_.front());
      rows_.pop_front();
      changed_.notify_all();
      return row;
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return std::nullopt;
  }

 private:
  void run(const Query& query) {
    try {
      query([this](Row row) {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [this] { return rows_.size() < capacity_ || cancelled_; });
        if (cancelled_) return false;
        rows_.push_back(std::move(row));
        changed_.notify_all();
        return true;
      });
    } catch (...) {
      std::lock_guard lock(mu_);
      error_ = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      finished_ = true;
    }
    changed_.notify_all();
  }

  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  // Guarded by mu_.
  std::deque<Row> rows_;
  bool finished_ = false;
  bool cancelled_ = false;
  std::exception_ptr error_;
  // Last: started once everything it uses is constructed.
  std::thread thread_;
};

}  // namespace buildhist::python

#endif  // BUILDHIST_PYTHON_SINK_ITERATOR_H_
