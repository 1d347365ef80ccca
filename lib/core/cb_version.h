#ifndef CB_VERSION_H
#define CB_VERSION_H

#define CB_VERSION "0.1.0"

#endif
