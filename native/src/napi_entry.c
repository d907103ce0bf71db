/* The one N-API entry point: detach(arrayBuffer) so a closed segment's views throw instead of faulting.
 * Prototypes are declared here with opaque types (N-API is a stable C ABI) and weak, so the
 * C self-test links without Node. */
#include "shmkit.h"
#include <stddef.h>
#include <stdbool.h>
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
extern napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **) __attribute__((weak));
extern napi_status napi_detach_arraybuffer(napi_env, napi_value) __attribute__((weak));
extern napi_status napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *) __attribute__((weak));
extern napi_status napi_set_named_property(napi_env, napi_value, const char *, napi_value) __attribute__((weak));
extern napi_status napi_get_boolean(napi_env, bool, napi_value *) __attribute__((weak));

static napi_value detach(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1] = {0}; napi_value out = NULL;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == 0 && argc == 1 &&
            napi_detach_arraybuffer(env, argv[0]) == 0;
  napi_get_boolean(env, ok, &out);
  return out;
}
SHK_API napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function && napi_create_function(env, "detach", 6, detach, NULL, &fn) == 0)
    napi_set_named_property(env, exports, "detach", fn);
  return exports;
}
