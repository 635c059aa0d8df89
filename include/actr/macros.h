/* actr — export and C++ linkage macros shared by every public header.
 *
 * The library is built with hidden symbol visibility; only declarations
 * marked ACTR_API are exported from libactr.so.
 */
#ifndef ACTR_MACROS_H
#define ACTR_MACROS_H

#if defined(ACTR_COMPILATION) && defined(__GNUC__)
#define ACTR_API __attribute__((visibility("default")))
#else
#define ACTR_API
#endif

#ifdef __cplusplus
#define ACTR_BEGIN_DECLS extern "C" {
#define ACTR_END_DECLS   }
#else
#define ACTR_BEGIN_DECLS
#define ACTR_END_DECLS
#endif

#endif /* ACTR_MACROS_H */
