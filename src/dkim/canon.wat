;; DKIM body canonicalization (RFC 6376 3.4.3 simple, 3.4.4 relaxed) for one chunk, with 128-bit
;; SIMD: the bytes of a 16-byte block up to the first that may change (a TAB, white space before
;; white space or a line end, a bare LF) are copied as they are; from there bytes take
;; the byte-by-byte path, which is the same state machine as BodyCanonicalizer#process in
;; canonicalize.ts. Tests compare the two on random input.
;;
;; Memory (8 pages): input at 0 (up to 131072 bytes; a block check reads one byte past the block,
;; never past the input), output from 131136 (at most twice the input plus the held-back empty lines).
;; State comes in as parameters and goes out at 131072 (two i32s, for JavaScript to read): flags
;; (bit 0 a pending space, bit 1 mid-line, bit 2 a CR at the end of the last chunk) and the number of
;; empty lines held back.
;; Rebuild canon-wasm.ts after editing: npm run build:wasm
(module
  (memory (export "memory") 8)

  ;; (n, relaxed, flags, pending) -> output length; output at 131136.
  (func (export "canon") (param $n i32) (param $relaxed i32) (param $flags i32) (param $pending i32) (result i32)
    (local $i i32) (local $o i32) (local $mask i32) (local $mask2 i32) (local $k i32) (local $c i32) (local $end i32) (local $start i32)
    (local $ps i32) (local $mid i32) (local $midIn i32) (local $pl i32) (local $held i32) (local $heldOut i32)
    (local $cur v128) (local $next v128) (local $cur2 v128) (local $next2 v128)
    (local $vTab v128) (local $vSp v128) (local $vLf v128) (local $vCr v128)
    (local.set $o (i32.const 131136))
    (local.set $ps (i32.and (local.get $flags) (i32.const 1)))
    (local.set $mid (i32.and (i32.shr_u (local.get $flags) (i32.const 1)) (i32.const 1)))
    (local.set $midIn (local.get $mid))
    (local.set $held (i32.and (i32.shr_u (local.get $flags) (i32.const 2)) (i32.const 1)))
    (local.set $pl (local.get $pending))
    ;; A CR held from the last chunk is content unless this chunk starts with its LF.
    (if (i32.and (local.get $held) (i32.gt_u (local.get $n) (i32.const 0)))
      (then (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 10)) (then (local.set $held (i32.const 0))))))
    ;; Constants in locals, so the loop keeps them in registers.
    ;; Simple canonicalization leaves white space alone: its TAB and SP checks look for NUL instead,
    ;; which costs only a detour through the scalar path for the rare NUL byte.
    (if (local.get $relaxed)
      (then
        (local.set $vTab (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9))
        (local.set $vSp (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))))
    (local.set $vLf (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))
    (local.set $vCr (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13))
    (block $done
      (loop $outer
        ;; Whole blocks, when nothing is pending, the byte before was not a CR that the scalar path
        ;; swallowed as half of a CRLF, and this byte is not a bare LF: the pairs the block check
        ;; would have flagged at the byte before.
        ;; (WebAssembly's i32.and evaluates both sides: the loads wait for their own if.)
        (if (i32.and
              (i32.eqz (i32.or (i32.or (local.get $ps) (local.get $pl)) (local.get $held)))
              (i32.and (i32.ge_u (local.get $i) (i32.const 1)) (i32.le_u (i32.add (local.get $i) (i32.const 17)) (local.get $n))))
          (then (if (i32.and
                      (i32.ne (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 13))
                      (i32.ne (i32.load8_u (local.get $i)) (i32.const 10))) (then
            (local.set $start (local.get $i))
            ;; A lane needs work if it is (relaxed) a TAB or an SP before a byte up to SP (white space
            ;; or a line end, or a control character: checked the slow way), or is the byte before a
            ;; bare LF. (Empty lines pass: see the end of the function.) Two blocks a round while
            ;; there is room, then one.
            (block $fastdone
              (block $tail
                (loop $pair
                  (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 33)) (local.get $n)))
                  (local.set $cur (v128.load (local.get $i)))
                  (local.set $next (v128.load (i32.add (local.get $i) (i32.const 1))))
                  (local.set $cur2 (v128.load (i32.add (local.get $i) (i32.const 16))))
                  (local.set $next2 (v128.load (i32.add (local.get $i) (i32.const 17))))
                  (local.set $mask (i8x16.bitmask
                    (v128.or
                      (v128.or
                        (i8x16.eq (local.get $cur) (local.get $vTab))
                        (v128.and
                          (i8x16.eq (local.get $cur) (local.get $vSp))
                          (i8x16.le_u (local.get $next) (local.get $vSp))))
                      (v128.andnot
                        (i8x16.eq (local.get $next) (local.get $vLf))
                        (i8x16.eq (local.get $cur) (local.get $vCr))))))
                  (local.set $mask2 (i8x16.bitmask
                    (v128.or
                      (v128.or
                        (i8x16.eq (local.get $cur2) (local.get $vTab))
                        (v128.and
                          (i8x16.eq (local.get $cur2) (local.get $vSp))
                          (i8x16.le_u (local.get $next2) (local.get $vSp))))
                      (v128.andnot
                        (i8x16.eq (local.get $next2) (local.get $vLf))
                        (i8x16.eq (local.get $cur2) (local.get $vCr))))))
                  ;; The bytes before the first lane that needs work are output as they are (the
                  ;; stores write all 32; what follows overwrites the rest).
                  (v128.store (local.get $o) (local.get $cur))
                  (v128.store (i32.add (local.get $o) (i32.const 16)) (local.get $cur2))
                  (local.set $mask (i32.or (local.get $mask) (i32.shl (local.get $mask2) (i32.const 16))))
                  (if (local.get $mask)
                    (then
                      (local.set $k (i32.ctz (local.get $mask)))
                      (local.set $o (i32.add (local.get $o) (local.get $k)))
                      (local.set $i (i32.add (local.get $i) (local.get $k)))
                      (br $fastdone)))
                  (local.set $o (i32.add (local.get $o) (i32.const 32)))
                  (local.set $i (i32.add (local.get $i) (i32.const 32)))
                  (br $pair)))
              ;; The last 17 to 32 bytes: one block at a time.
              (br_if $fastdone (i32.gt_u (i32.add (local.get $i) (i32.const 17)) (local.get $n)))
              (loop $fast
                (local.set $cur (v128.load (local.get $i)))
                (local.set $next (v128.load (i32.add (local.get $i) (i32.const 1))))
                (local.set $mask (i8x16.bitmask
                  (v128.or
                    (v128.or
                      (i8x16.eq (local.get $cur) (local.get $vTab))
                      (v128.and
                        (i8x16.eq (local.get $cur) (local.get $vSp))
                        (i8x16.le_u (local.get $next) (local.get $vSp))))
                    (v128.andnot
                      (i8x16.eq (local.get $next) (local.get $vLf))
                      (i8x16.eq (local.get $cur) (local.get $vCr))))))
                ;; The bytes before the first lane that needs work are output as they are (the store
                ;; writes all 16; what follows overwrites the rest).
                (v128.store (local.get $o) (local.get $cur))
                (if (local.get $mask)
                  (then
                    (local.set $k (i32.ctz (local.get $mask)))
                    (local.set $o (i32.add (local.get $o) (local.get $k)))
                    (local.set $i (i32.add (local.get $i) (local.get $k)))
                    (br $fastdone)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br_if $fast (i32.le_u (i32.add (local.get $i) (i32.const 17)) (local.get $n)))))
            ;; A CR output last goes back to the scalar path with its LF. (Never before $start: the
            ;; byte before it is not a CR.)
            (if (i32.eq (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 13))
              (then
                (local.set $i (i32.sub (local.get $i) (i32.const 1)))
                (local.set $o (i32.sub (local.get $o) (i32.const 1)))))
            (if (i32.ne (local.get $i) (local.get $start))
              (then (local.set $mid (i32.ne (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 10)))))))))
        ;; One byte at a time, at least one, until nothing is pending and the last byte was not a CR.
        (local.set $end (i32.add (local.get $i) (i32.const 1)))
        (block $sdone
          (loop $scalar
            (block $content
              (if (local.get $held)
                (then
                  (local.set $c (i32.const 13))
                  (local.set $held (i32.const 0))
                  (br $content)))
              (br_if $sdone (i32.ge_u (local.get $i) (local.get $n)))
              (if (i32.ge_u (local.get $i) (local.get $end))
                (then (if (i32.eqz (i32.or (local.get $ps) (local.get $pl)))
                  (then (br_if $sdone (i32.ne (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 13)))))))
              (local.set $c (i32.load8_u (local.get $i)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (if (i32.eq (local.get $c) (i32.const 10))
                (then
                  (if (local.get $mid)
                    (then
                      (i32.store16 (local.get $o) (i32.const 0x0a0d))
                      (local.set $o (i32.add (local.get $o) (i32.const 2)))
                      (local.set $mid (i32.const 0)))
                    (else (local.set $pl (i32.add (local.get $pl) (i32.const 1)))))
                  (local.set $ps (i32.const 0))
                  (br $scalar)))
              (if (i32.eq (local.get $c) (i32.const 13))
                (then
                  (if (i32.eq (local.get $i) (local.get $n))
                    (then
                      (local.set $heldOut (i32.const 1))
                      (br $done)))
                  ;; the LF ends the line
                  (br_if $scalar (i32.eq (i32.load8_u (local.get $i)) (i32.const 10)))
                  (br $content)))
              (if (i32.and (local.get $relaxed) (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9))))
                (then
                  (local.set $ps (i32.const 1))
                  (br $scalar))))
            ;; c is content.
            (if (i32.eqz (local.get $mid))
              (then
                (block $flushed
                  (loop $flush
                    (br_if $flushed (i32.eqz (local.get $pl)))
                    (i32.store16 (local.get $o) (i32.const 0x0a0d))
                    (local.set $o (i32.add (local.get $o) (i32.const 2)))
                    (local.set $pl (i32.sub (local.get $pl) (i32.const 1)))
                    (br $flush)))
                (local.set $mid (i32.const 1))))
            (if (local.get $ps)
              (then
                (i32.store8 (local.get $o) (i32.const 32))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $ps (i32.const 0))))
            (i32.store8 (local.get $o) (local.get $c))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (br $scalar)))
        (br_if $outer (i32.lt_u (local.get $i) (local.get $n)))))
    ;; Empty lines at the end of the output (only whole blocks put them there) are held back: they
    ;; count only if content follows. A CRLF is an empty line when an LF comes before it, or it
    ;; starts the output and no line was open when the chunk began.
    (local.set $k (i32.const 131136))
    (block $kept
      (loop $retract
        (br_if $kept (i32.lt_u (i32.sub (local.get $o) (local.get $k)) (i32.const 2)))
        (br_if $kept (i32.ne (i32.load16_u (i32.sub (local.get $o) (i32.const 2))) (i32.const 0x0a0d)))
        (if (i32.eq (i32.sub (local.get $o) (local.get $k)) (i32.const 2))
          (then (br_if $kept (local.get $midIn)))
          (else (br_if $kept (i32.ne (i32.load8_u (i32.sub (local.get $o) (i32.const 3))) (i32.const 10)))))
        (local.set $o (i32.sub (local.get $o) (i32.const 2)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $retract)))
    (i32.store (i32.const 131072)
      (i32.or (i32.or (local.get $ps) (i32.shl (local.get $mid) (i32.const 1))) (i32.shl (local.get $heldOut) (i32.const 2))))
    (i32.store (i32.const 131076) (local.get $pl))
    (i32.sub (local.get $o) (i32.const 131136))))
