# Fallback build of moalign.node with node-gyp, for machines without cmake (CMakeLists.txt is
# the primary build; keep the two in step). Same CPU sources (globbed; native/core/cuda/ is
# CUDA-only and left out), same flags, against the libtorch the project's resolver finds.
# scripts/gyp-vars.mjs prints each list below; it needs dist/ (npm run build:ts).
# Build: npm run build:gyp (node-gyp rebuild --nodedir=... ; MOALIGN_PORTABLE=1: no RUNPATH).
{
  'variables': {
    'torch_abi%': '<!(node scripts/gyp-vars.mjs abi)',
  },
  'targets': [
    {
      'target_name': 'moalign',
      'sources': ['<!@(node scripts/gyp-vars.mjs sources)'],
      # native/ is the include root ("core/xxx.h"); node-addon-api for napi.h.
      'include_dirs': ['native', '<!@(node scripts/gyp-vars.mjs addon-include)'],
      'defines': [
        'NAPI_VERSION=8',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        'NAPI_CPP_EXCEPTIONS',
        # Per-operator ATen headers only (the napi layer includes no torch header).
        'TORCH_ASSERT_ONLY_METHOD_OPERATORS',
        '_GLIBCXX_USE_CXX11_ABI=<(torch_abi)',
      ],
      # node's common.gypi defines _GLIBCXX_USE_CXX11_ABI=1: keep only libtorch's value.
      'defines/': [
        ['exclude', '^_GLIBCXX_USE_CXX11_ABI='],
        ['include', '^_GLIBCXX_USE_CXX11_ABI=<(torch_abi)$'],
      ],
      # -isystem: torch's own warnings stay quiet under -Wall -Wextra.
      # -fopenmp (with libtorch's own libgomp in 'libraries') when libtorch ships one, as in CMakeLists.txt.
      'cflags': ['-O2', '-fvisibility=hidden', '<!@(node scripts/gyp-vars.mjs include)', '<!@(node scripts/gyp-vars.mjs openmp)'],
      'cflags!': ['-O3'],
      'cflags_cc': ['-std=c++20', '-fexceptions', '-frtti', '-fvisibility-inlines-hidden'],
      'cflags_cc!': ['-fno-rtti', '-fno-exceptions', '-std=gnu++17'],
      # Keep static dependencies' symbols private; RUNPATH to libtorch unless MOALIGN_PORTABLE=1.
      'ldflags': ['-Wl,--exclude-libs,ALL', '-Wl,--as-needed', '<!@(node scripts/gyp-vars.mjs ldflags)'],
      'libraries': ['<!@(node scripts/gyp-vars.mjs libs)'],
      'configurations': {'Release': {'defines': ['NDEBUG']}},
    },
  ],
}
