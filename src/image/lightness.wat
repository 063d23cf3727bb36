;; The lightness of RGB pixels, sixteen at a time with WebAssembly's 128-bit SIMD: grid
;; detection's heaviest per-pixel step, which sharp cannot do (libvips has no band minimum in
;; sharp's API). In JavaScript it was the largest part of preparing a screenshot: 1.2 s of CPU for
;; the benchmark's 100 captures, 0.45 s here with the copies in and out of this module's memory.
;; scripts/build-wasm.ts compiles this file into lightness-wasm.ts.
;;
;; lightness = min((77r + 150g + 29b) >> 8, min(r, g, b) + 90), exactly as lightnessOf in
;; lightness.ts computes it: luma, but a saturated colour (bright yellow, light sky blue) never
;; passes for white.
(module
  (memory (export "memory") 4)

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
        (local.set $r
          (v128.or
            (v128.or
              (i8x16.swizzle (local.get $a)
                (v128.const i8x16 0 3 6 9 12 15 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
              (i8x16.swizzle (local.get $b)
                (v128.const i8x16 -1 -1 -1 -1 -1 -1 2 5 8 11 14 -1 -1 -1 -1 -1)))
            (i8x16.swizzle (local.get $c)
              (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 1 4 7 10 13))))
        (local.set $g
          (v128.or
            (v128.or
              (i8x16.swizzle (local.get $a)
                (v128.const i8x16 1 4 7 10 13 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
              (i8x16.swizzle (local.get $b)
                (v128.const i8x16 -1 -1 -1 -1 -1 0 3 6 9 12 15 -1 -1 -1 -1 -1)))
            (i8x16.swizzle (local.get $c)
              (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 2 5 8 11 14))))
        (local.set $bl
          (v128.or
            (v128.or
              (i8x16.swizzle (local.get $a)
                (v128.const i8x16 2 5 8 11 14 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
              (i8x16.swizzle (local.get $b)
                (v128.const i8x16 -1 -1 -1 -1 -1 1 4 7 10 13 -1 -1 -1 -1 -1 -1)))
            (i8x16.swizzle (local.get $c)
              (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 0 3 6 9 12 15))))
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
        (br $next)))))
