// An insertion-ordered map with LibTorch's interface (torch::OrderedDict): items iterate in
// insertion order and expose key() and value(); lookup by key. Modules keep their parameters,
// buffers and children in one, so parameters() has a stable, reproducible order.
#pragma once

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kiln::nn {

template <typename Key, typename Value>
class OrderedDict {
 public:
  class Item {
   public:
    Item(Key key, Value value) : pair_(std::move(key), std::move(value)) {}
    const Key& key() const { return pair_.first; }
    Value& value() { return pair_.second; }
    const Value& value() const { return pair_.second; }
    Value& operator*() { return pair_.second; }
    Value* operator->() { return &pair_.second; }

   private:
    std::pair<Key, Value> pair_;
  };

  // Adds `key`; a key already present is an error (std::invalid_argument), as LibTorch's.
  Value& insert(Key key, Value value) {
    if (index_.count(key)) throw std::invalid_argument("OrderedDict: key '" + std::string(key) + "' already defined");
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().value();
  }
  bool contains(const Key& key) const { return index_.count(key) != 0; }
  Value* find(const Key& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  const Value* find(const Key& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  Value& operator[](const Key& key) {
    if (Value* v = find(key)) return *v;
    throw std::out_of_range("OrderedDict: no key '" + std::string(key) + "'");
  }
  size_t size() const { return items_.size(); }
  bool is_empty() const { return items_.empty(); }
  std::vector<Key> keys() const {
    std::vector<Key> out;
    for (const Item& i : items_) out.push_back(i.key());
    return out;
  }
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const Item& i : items_) out.push_back(i.value());
    return out;
  }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<Key, size_t> index_;
};

}  // namespace kiln::nn
