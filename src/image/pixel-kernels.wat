;; Detection's per-pixel steps that sharp cannot do (libvips has no band minimum or run-length
;; labelling in sharp's API), in WebAssembly with 128-bit SIMD, sixteen pixels a step. In
;; JavaScript they were the largest part of preparing a screenshot. scripts/build-wasm.ts compiles
;; this file into pixel-kernels-wasm.ts; pixel-kernels.ts loads it.
(module
  (memory (export "memory") 16)

  ;; The lightness of RGB pixels: min((77r + 150g + 29b) >> 8, min(r, g, b) + 90), exactly as
  ;; lightnessOf in lightness.ts computes it: luma, but a saturated colour (bright yellow, light
  ;; sky blue) never passes for white. 1.2 s of CPU for the benchmark's 100 captures in JavaScript,
  ;; 0.45 s here with the copies in and out of this module's memory.
  ;; `blocks` blocks of 16 pixels: 48 bytes of RGB from `src`, 16 lightness bytes to `dst`.
  (func (export "lightness") (param $src i32) (param $dst i32) (param $blocks i32)
    (local $a v128) (local $b v128) (local $c v128)
    (local $r v128) (local $g v128) (local $bl v128) (local $y v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $blocks)))
        (local.set $a (v128.load offset=0 (local.get $src)))
        (local.set $b (v128.load offset=16 (local.get $src)))
        (local.set $c (v128.load offset=32 (local.get $src)))
        ;; Each channel gathered from the three words: a lane index of 16 or more reads as 0,
        ;; so the three swizzles of a channel fill disjoint lanes and OR together.
        (local.set $r (v128.or (v128.or
          (i8x16.swizzle (local.get $a) (v128.const i8x16 0 3 6 9 12 15 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
          (i8x16.swizzle (local.get $b) (v128.const i8x16 -1 -1 -1 -1 -1 -1 2 5 8 11 14 -1 -1 -1 -1 -1)))
          (i8x16.swizzle (local.get $c) (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 1 4 7 10 13))))
        (local.set $g (v128.or (v128.or
          (i8x16.swizzle (local.get $a) (v128.const i8x16 1 4 7 10 13 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
          (i8x16.swizzle (local.get $b) (v128.const i8x16 -1 -1 -1 -1 -1 0 3 6 9 12 15 -1 -1 -1 -1 -1)))
          (i8x16.swizzle (local.get $c) (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 2 5 8 11 14))))
        (local.set $bl (v128.or (v128.or
          (i8x16.swizzle (local.get $a) (v128.const i8x16 2 5 8 11 14 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
          (i8x16.swizzle (local.get $b) (v128.const i8x16 -1 -1 -1 -1 -1 1 4 7 10 13 -1 -1 -1 -1 -1 -1)))
          (i8x16.swizzle (local.get $c) (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 0 3 6 9 12 15))))
        ;; Luma in 16-bit lanes, eight pixels at a time: 77 + 150 + 29 = 256, so the sum is at
        ;; most 255 * 256 and fits unsigned; after the shift it is at most 255 and narrows as is.
        (local.set $y
          (i8x16.narrow_i16x8_u
            (i16x8.shr_u
              (i16x8.add
                (i16x8.add
                  (i16x8.mul (i16x8.extend_low_i8x16_u (local.get $r)) (v128.const i16x8 77 77 77 77 77 77 77 77))
                  (i16x8.mul (i16x8.extend_low_i8x16_u (local.get $g)) (v128.const i16x8 150 150 150 150 150 150 150 150)))
                (i16x8.mul (i16x8.extend_low_i8x16_u (local.get $bl)) (v128.const i16x8 29 29 29 29 29 29 29 29)))
              (i32.const 8))
            (i16x8.shr_u
              (i16x8.add
                (i16x8.add
                  (i16x8.mul (i16x8.extend_high_i8x16_u (local.get $r)) (v128.const i16x8 77 77 77 77 77 77 77 77))
                  (i16x8.mul (i16x8.extend_high_i8x16_u (local.get $g)) (v128.const i16x8 150 150 150 150 150 150 150 150)))
                (i16x8.mul (i16x8.extend_high_i8x16_u (local.get $bl)) (v128.const i16x8 29 29 29 29 29 29 29 29)))
              (i32.const 8))))
        ;; min(r, g, b) + 90 saturates at 255, which luma never exceeds: the minimum is unchanged.
        (v128.store (local.get $dst)
          (i8x16.min_u
            (local.get $y)
            (i8x16.add_sat_u
              (i8x16.min_u (i8x16.min_u (local.get $r) (local.get $g)) (local.get $bl))
              (i8x16.splat (i32.const 90)))))
        (local.set $src (i32.add (local.get $src) (i32.const 48)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $next))))

  ;; Runs of dark pixels (lightness below `level`, 0-255) in `rows` rows of `width` bytes at
  ;; `src`: each run as two i32, its first pixel and the one after its last, at `dst`; after each
  ;; row, the number of runs so far as an i32 at `ends`. Labelling's per-pixel part (detect-grid.ts
  ;; joins the runs into blobs): long white and dark stretches pass sixteen pixels to a comparison.
  (func (export "darkRuns")
    (param $src i32) (param $width i32) (param $rows i32) (param $level i32)
    (param $dst i32) (param $ends i32)
    (local $row i32)
    (global.set $out (local.get $dst))
    (global.set $count (i32.const 0))
    (block $rowsDone
      (loop $nextRow
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (call $scanRow (local.get $src) (local.get $width) (local.get $level))
        (i32.store (local.get $ends) (global.get $count))
        (local.set $ends (i32.add (local.get $ends) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (local.get $width)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $nextRow))))

  ;; Where the next run goes, how many so far, and the row's state: inside a run (from $start) or not.
  (global $out (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  (global $dark (mut i32) (i32.const 0))
  (global $start (mut i32) (i32.const 0))

  ;; The shade changes at pixel $p: a run starts there, or the one in progress ends there.
  (func $edge (param $p i32)
    (if (global.get $dark)
      (then
        (i32.store (global.get $out) (global.get $start))
        (i32.store offset=4 (global.get $out) (local.get $p))
        (global.set $out (i32.add (global.get $out) (i32.const 8)))
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (global.set $dark (i32.const 0)))
      (else
        (global.set $start (local.get $p))
        (global.set $dark (i32.const 1)))))

  ;; One row: sixteen pixels a step (a bit per pixel, set where it is dark), the last pixels short
  ;; of sixteen one at a time, and a run that reaches the row's end ended there.
  (func $scanRow (param $src i32) (param $width i32) (param $level i32)
    (local $i i32) (local $mask i32) (local $diff i32) (local $bit i32)
    (global.set $dark (i32.const 0))
    (block $blocksDone
      (loop $nextBlock
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $width)))
        (local.set $mask
          (i8x16.bitmask
            (i8x16.lt_u
              (v128.load (i32.add (local.get $src) (local.get $i)))
              (i8x16.splat (local.get $level)))))
        ;; The bits that differ from the state the row is in (all set inside a run), one edge at a
        ;; time; after each, what still differs from the new state above that pixel.
        (local.set $diff
          (i32.xor (local.get $mask) (i32.mul (global.get $dark) (i32.const 0xffff))))
        (block $edgesDone
          (loop $nextEdge
            (br_if $edgesDone (i32.eqz (local.get $diff)))
            (local.set $bit (i32.ctz (local.get $diff)))
            (call $edge (i32.add (local.get $i) (local.get $bit)))
            (local.set $diff
              (i32.and
                (i32.xor (local.get $mask) (i32.mul (global.get $dark) (i32.const 0xffff)))
                (i32.and
                  (i32.shl (i32.const 0xffff) (i32.add (local.get $bit) (i32.const 1)))
                  (i32.const 0xffff))))
            (br $nextEdge)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $nextBlock)))
    (block $tailDone
      (loop $nextPixel
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $width)))
        (if (i32.ne
              (i32.lt_u (i32.load8_u (i32.add (local.get $src) (local.get $i))) (local.get $level))
              (global.get $dark))
          (then (call $edge (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextPixel)))
    (if (global.get $dark) (then (call $edge (local.get $width)))))
)
