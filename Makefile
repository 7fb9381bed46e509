# The staged install, the hier(7) way (docs/install.md). BSD make and GNU make.
#   make install DESTDIR=/tmp/stage PREFIX=/usr/local [NODE=/usr/local/bin/node]
#   make plist          rewrites conf/freebsd-port/pkg-plist from a staged install
# Build first (npm ci && npm run build): this installs the built tree, it builds nothing.

PREFIX?=	/usr/local
DESTDIR?=
NODE?=		/usr/local/bin/node

install:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" NODE="$(NODE)" sh scripts/install.sh

plist:
	@stage=$$(mktemp -d) && \
	DESTDIR="$$stage" PREFIX=/usr/local sh scripts/install.sh >/dev/null && \
	sh scripts/pkg-plist.sh "$$stage" /usr/local >conf/freebsd-port/pkg-plist; \
	status=$$?; rm -rf "$$stage"; exit $$status

.PHONY: install plist
