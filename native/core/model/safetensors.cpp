#include "core/model/safetensors.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/model/json_lite.h"

namespace moalign::model {

namespace fs = std::filesystem;

namespace {

std::size_t element_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InvalidArgument(path + ": " + problem);
}

}  // namespace

at::ScalarType scalar_type_of(const std::string& dtype, const std::string& what) {
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "F64") return at::kDouble;
  if (dtype == "I64") return at::kLong;
  if (dtype == "I32") return at::kInt;
  if (dtype == "I16") return at::kShort;
  if (dtype == "I8") return at::kChar;
  if (dtype == "U8") return at::kByte;
  if (dtype == "BOOL") return at::kBool;
  throw InvalidArgument(what + ": unsupported safetensors dtype " + dtype);
}

std::string safetensors_dtype_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: throw InvalidArgument(std::string("cannot save dtype ") + c10::toString(type) + " to safetensors");
  }
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
  // Private and writable: tensors viewing the mapping may be trained in place (copy-on-write);
  // the file never changes.
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  mapping_ = std::shared_ptr<void>(base, [size](void* p) { ::munmap(p, size); });
  const auto* bytes = static_cast<const unsigned char*>(base);
  uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k) header_len = (header_len << 8) | bytes[k];
  if (header_len > size - 8) fail(path, "truncated or not safetensors: header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));
  const std::string_view header(reinterpret_cast<const char*>(bytes + 8), header_len);
  json::Value root;
  try {
    root = json::parse(header, path + " (safetensors header)");
  } catch (const std::runtime_error& e) {
    throw InvalidArgument(std::string(e.what()) + " (corrupt file?)");
  }
  if (!root.is_object()) fail(path, "safetensors header is not a JSON object");
  data_ = bytes + 8 + header_len;
  data_size_ = size - 8 - header_len;
  for (const auto& [name, v] : root.object) {
    if (name == "__metadata__") {
      for (const auto& [k, s] : v.object)
        if (s.is_string()) metadata_[k] = s.string;
      continue;
    }
    const json::Value* dtype = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offsets = v.find("data_offsets");
    if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array() || offsets->array.size() != 2)
      fail(path, "tensor " + name + ": header entry needs dtype, shape and data_offsets [begin, end]");
    SafetensorsEntry e;
    e.dtype = dtype->string;
    int64_t numel = 1;
    for (const json::Value& d : shape->array) {
      if (!d.is_number() || d.number < 0) fail(path, "tensor " + name + ": bad shape");
      e.shape.push_back(static_cast<int64_t>(d.number));
      numel *= e.shape.back();
    }
    e.begin = static_cast<std::size_t>(offsets->array[0].number);
    e.end = static_cast<std::size_t>(offsets->array[1].number);
    const std::size_t es = element_size(e.dtype);
    if (es == 0) fail(path, "tensor " + name + ": unknown dtype " + e.dtype);
    if (e.begin > e.end || e.end > data_size_)
      fail(path, "tensor " + name + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] run past the end of the data (" +
                     std::to_string(data_size_) + " bytes): truncated file?");
    if (e.end - e.begin != static_cast<std::size_t>(numel) * es)
      fail(path, "tensor " + name + ": " + std::to_string(e.end - e.begin) + " bytes of data for " + std::to_string(numel) + " " + e.dtype + " values");
    entries_.emplace(name, std::move(e));
  }
}

SafetensorsFile::~SafetensorsFile() = default;

at::Tensor SafetensorsFile::tensor(const std::string& name, at::ScalarType dtype) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, "no tensor named " + name);
  const SafetensorsEntry& e = it->second;
  const at::ScalarType stored = scalar_type_of(e.dtype, path_ + ": tensor " + name);
  const unsigned char* p = data_ + e.begin;
  const std::size_t es = element_size(e.dtype);
  const auto options = at::TensorOptions().dtype(stored);
  if (reinterpret_cast<uintptr_t>(p) % es != 0) {
    // Unaligned data (legal in the format): copy into an aligned buffer first.
    at::Tensor copy = at::empty(e.shape, options);
    std::memcpy(copy.data_ptr(), p, e.end - e.begin);
    return copy.to(dtype);
  }
  auto keep = mapping_;
  at::Tensor view = at::from_blob(const_cast<unsigned char*>(p), e.shape, [keep](void*) {}, options);
  if (stored == dtype && dtype == at::kFloat) return view;
  return stored == dtype ? view.clone() : view.to(dtype);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir, const std::string& stem) : dir_(dir) {
  const fs::path single = fs::path(dir) / (stem + ".safetensors");
  const fs::path index = fs::path(dir) / (stem + ".safetensors.index.json");
  if (fs::exists(single)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single.string()));
  } else if (fs::exists(index)) {
    std::ifstream in(index);
    std::stringstream text;
    text << in.rdbuf();
    json::Value root;
    try {
      root = json::parse(text.str(), index.string());
    } catch (const std::runtime_error& e) {
      throw InvalidArgument(e.what());
    }
    const json::Value* map = root.find("weight_map");
    if (!map || !map->is_object()) throw InvalidArgument(index.string() + ": no weight_map object");
    std::map<std::string, const SafetensorsFile*> opened;
    for (const auto& [name, file] : map->object) {
      if (!file.is_string()) throw InvalidArgument(index.string() + ": weight_map entry for " + name + " is not a file name");
      if (!opened.count(file.string)) {
        files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / file.string).string()));
        opened[file.string] = files_.back().get();
      }
      if (!opened[file.string]->contains(name))
        throw InvalidArgument(index.string() + " names tensor " + name + " in " + file.string + ", which does not hold it");
    }
  } else {
    throw InvalidArgument(dir + ": no " + single.filename().string() + " or " + index.filename().string());
  }
  for (const auto& f : files_)
    for (const auto& [name, e] : f->entries()) where_[name] = f.get();
}

at::Tensor SafetensorsCheckpoint::tensor(const std::string& name, at::ScalarType dtype) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InvalidArgument(dir_ + ": missing tensor " + name);
  return it->second->tensor(name, dtype);
}

at::Tensor SafetensorsCheckpoint::tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape) const {
  at::Tensor t = tensor(name, dtype);
  if (t.sizes().vec() != shape) {
    std::ostringstream msg;
    msg << dir_ << ": tensor " << name << " has shape " << t.sizes() << ", the config needs " << at::IntArrayRef(shape);
    throw InvalidArgument(msg.str());
  }
  return t;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : where_) out.push_back(name);
  return out;
}

std::string SafetensorsCheckpoint::dtype_of(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InvalidArgument(dir_ + ": missing tensor " + name);
  return it->second->entries().at(name).dtype;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, const std::string& dtype_name) {
  std::vector<at::Tensor> data;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "},";
  }
  std::size_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const at::ScalarType type = dtype_name.empty() || !at::isFloatingType(t.scalar_type()) ? t.scalar_type() : scalar_type_of(dtype_name, path);
    at::Tensor c = t.detach().to(at::kCPU).to(type).contiguous();
    std::string shape;
    for (int64_t d : c.sizes()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    const std::size_t bytes = c.numel() * c.element_size();
    header += (i ? "," : "") + json::quote(name) + ":{\"dtype\":\"" + safetensors_dtype_of(type) + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
    data.push_back(std::move(c));
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += ' ';  // data starts 8-byte aligned, as Python's writer does

  const fs::path target(path);
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw InvalidArgument(tmp.string() + ": cannot create: " + std::strerror(errno));
  bool ok = true;
  unsigned char len[8];
  for (int k = 0; k < 8; ++k) len[k] = static_cast<unsigned char>((static_cast<uint64_t>(header.size()) >> (8 * k)) & 0xFF);
  ok &= std::fwrite(len, 1, 8, f) == 8;
  ok &= std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (const at::Tensor& c : data) {
    const std::size_t bytes = c.numel() * c.element_size();
    ok &= bytes == 0 || std::fwrite(c.data_ptr(), 1, bytes, f) == bytes;
  }
  ok &= std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok &= std::fclose(f) == 0;
  if (!ok) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
  }
  fs::rename(tmp, target);
}

}  // namespace moalign::model
