/* actr — umbrella header: include this to use libactr. */
#ifndef ACTR_H
#define ACTR_H

#include <actr/macros.h>
#include <actr/version.h>
#include <actr/error.h>
#include <actr/types.h>
#include <actr/config.h>
#include <actr/store.h>
#include <actr/identity.h>
#include <actr/node.h>

#endif /* ACTR_H */
