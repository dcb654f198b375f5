#include "tensor_wrap.h"

#include "addon.h"
#include "convert.h"
#include "js_errors.h"

namespace moalign::napi {

// Distinguishes our Tensors from look-alike objects before unwrapping (N-API type tags).
static const napi_type_tag kTensorTag = {0x6d6f616c69676e01ULL, 0x54656e736f720001ULL};

static constexpr char kMatmul[] = "matmul(other)";
static constexpr char kMul[] = "mul(other)";
static constexpr char kAdd[] = "add(other)";

Napi::Function TensorWrap::define(Napi::Env env) {
  return DefineClass(env, "Tensor",
                     {
                         InstanceAccessor<&TensorWrap::shape>("shape"),
                         InstanceAccessor<&TensorWrap::dtype>("dtype"),
                         InstanceAccessor<&TensorWrap::device>("device"),
                         InstanceAccessor<&TensorWrap::requires_grad>("requiresGrad"),
                         InstanceAccessor<&TensorWrap::disposed>("disposed"),
                         InstanceMethod<&TensorWrap::to_array>("toArray"),
                         InstanceMethod<&TensorWrap::binary<&Tensor::matmul, kMatmul>>("matmul"),
                         InstanceMethod<&TensorWrap::binary<&Tensor::mul, kMul>>("mul"),
                         InstanceMethod<&TensorWrap::binary<&Tensor::add, kAdd>>("add"),
                         InstanceMethod<&TensorWrap::sum>("sum"),
                         InstanceMethod<&TensorWrap::backward>("backward"),
                         InstanceMethod<&TensorWrap::grad>("grad"),
                         InstanceMethod<&TensorWrap::dispose>("dispose"),
                     });
}

// new Tensor(data: TypedArray, shape: number[], requiresGrad?: boolean) copies `data` in.
// Internally, new Tensor(External<Tensor>) adopts a result of the core.
TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kTensorTag);
  guarded(env, [&]() -> Napi::Value {
    if (info.Length() == 1 && info[0].IsExternal()) {
      tensor_ = *info[0].As<Napi::External<Tensor>>().Data();
      return env.Undefined();
    }
    if (info.Length() < 2) throw_type_error(env, "new Tensor(data, shape, requiresGrad?) needs data and shape");
    const bool requires_grad = info.Length() > 2 && info[2].ToBoolean().Value();
    tensor_ = Tensor::copy_of(borrow_typed_array(info[0], info[1], "Tensor"), requires_grad);
    return env.Undefined();
  });
}

Napi::Object TensorWrap::wrap(Napi::Env env, Tensor tensor) {
  Addon* addon = env.GetInstanceData<Addon>();
  return addon->tensor_constructor.New({Napi::External<Tensor>::New(env, &tensor)});
}

const Tensor& TensorWrap::unwrap(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kTensorTag)) {
    throw_type_error(env, std::string(what) + " must be a Tensor");
  }
  return Unwrap(value.As<Napi::Object>())->tensor(env);
}

const Tensor& TensorWrap::tensor(Napi::Env env) const {
  if (!tensor_) {
    Napi::Error err = Napi::Error::New(env, "Tensor was disposed; it cannot be used again");
    err.Set("code", Napi::String::New(env, "ERR_MOALIGN_DISPOSED"));
    throw err;
  }
  return *tensor_;
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(from_shape(info.Env(), tensor(info.Env()).shape())); });
}
Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(Napi::String::New(info.Env(), dtype_name(tensor(info.Env()).dtype()))); });
}
Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(Napi::String::New(info.Env(), tensor(info.Env()).device())); });
}
Napi::Value TensorWrap::requires_grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(Napi::Boolean::New(info.Env(), tensor(info.Env()).requires_grad())); });
}
Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_); }

Napi::Value TensorWrap::to_array(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(to_typed_array(info.Env(), tensor(info.Env()).to_host())); });
}

template <Tensor (Tensor::*Op)(const Tensor&) const, const char* Name>
Napi::Value TensorWrap::binary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(wrap(info.Env(), (tensor(info.Env()).*Op)(unwrap(info[0], Name)))); });
}
Napi::Value TensorWrap::sum(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::Value(wrap(info.Env(), tensor(info.Env()).sum())); });
}

Napi::Value TensorWrap::backward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    tensor(info.Env()).backward();
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::optional<Tensor> g = tensor(info.Env()).grad();
    return g ? Napi::Value(wrap(info.Env(), *g)) : info.Env().Null();
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  tensor_.reset();  // idempotent; views returned by toArray() keep their own storage
  return info.Env().Undefined();
}

}  // namespace moalign::napi
