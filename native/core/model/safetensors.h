// Hugging Face safetensors files: 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
// Reading maps the file (MAP_PRIVATE): float32 tensors are views of the mapping, copy-on-write,
// so loading costs no second full copy; other dtypes are converted on request. Writing goes to a
// temporary file in the same folder, fsynced, then renamed over the target (atomic).
// Core-internal header (libtorch types).
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace moalign::model {

struct SafetensorsEntry {
  std::string dtype;             // "F32", "F16", "BF16", "F64", "I64", ...
  std::vector<int64_t> shape;
  std::size_t begin = 0, end = 0;  // byte range within the data section
};

class SafetensorsFile {
 public:
  // Maps `path` and checks its header; errors name the file and the problem.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // The tensor as `dtype` (float tensors only convert between float types). A float32 request
  // on float32 data is a zero-copy view that keeps the mapping alive.
  at::Tensor tensor(const std::string& name, at::ScalarType dtype) const;

 private:
  std::string path_;
  std::shared_ptr<void> mapping_;  // munmap on last release
  const unsigned char* data_ = nullptr;
  std::size_t data_size_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// The files of a checkpoint folder: model.safetensors, or the shards named by
// model.safetensors.index.json. `stem` is "model" or "adapter_model".
class SafetensorsCheckpoint {
 public:
  SafetensorsCheckpoint(const std::string& dir, const std::string& stem = "model");
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // Throws naming the tensor and the folder when it is missing, or when its shape differs.
  at::Tensor tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape) const;
  at::Tensor tensor(const std::string& name, at::ScalarType dtype) const;
  std::vector<std::string> names() const;
  std::string dtype_of(const std::string& name) const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;
};

// Writes `tensors` (any device, float32/float16/bfloat16/int64) in order, as `dtype_name`
// ("F32", "F16", "BF16", or "" to keep each tensor's dtype), atomically.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, const std::string& dtype_name = "");

at::ScalarType scalar_type_of(const std::string& safetensors_dtype, const std::string& what);
std::string safetensors_dtype_of(at::ScalarType type);

}  // namespace moalign::model
