//! Geometry of the shapes blocks: how a scene's shapes cover pixels.
//!
//! Geometry: a shape is an ellipse or a polygon in image coordinates (x right,
//! y down, pixel `(x, y)` spans `[x, x+1) × [y, y+1)`, its centre is at
//! `(x + 0.5, y + 0.5)`). [`Shape::signed_distance`] is negative inside. A
//! pixel *belongs* to a shape when the distance at its centre is negative:
//! masks, areas and visible fractions all use that one test, so they agree to
//! the pixel. Anti-aliased colour uses the coverage `clamp(0.5 - d, 0, 1)`.
//!
//! The images themselves travel between blocks as PNG files ([`crate::image`]).

use super::scene::{SceneObject, ShapeClass};

/// Corners of a 5-pointed star: inner radius over outer radius.
const STAR_INNER_RATIO: f32 = 0.45;

/// The outline of one scene object in image coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    outline: Outline,
    /// Axis-aligned extent `(min_x, min_y, max_x, max_y)` of the outline.
    extent: [f32; 4],
}

#[derive(Clone, Debug)]
enum Outline {
    /// Centre, unit axis direction `(cos, sin)` and semi-axes.
    Ellipse {
        centre: [f32; 2],
        axis: [f32; 2],
        radii: [f32; 2],
    },
    /// Vertices in order, in image coordinates.
    Polygon { vertices: Vec<[f32; 2]> },
}

impl Shape {
    /// The outline of `object`: its class's unit outline scaled by its radii,
    /// rotated by its rotation (clockwise on screen, as y points down) and
    /// moved to its centre.
    pub(crate) fn new(object: &SceneObject) -> Self {
        let centre = [object.center[0] as f32, object.center[1] as f32];
        let radii = [object.radii[0] as f32, object.radii[1] as f32];
        let (sin, cos) = (object.rotation as f32).sin_cos();
        let outline = match unit_polygon(object.class) {
            None => Outline::Ellipse {
                centre,
                axis: [cos, sin],
                radii,
            },
            Some(unit) => Outline::Polygon {
                vertices: unit
                    .iter()
                    .map(|&[u, v]| {
                        let (px, py) = (u * radii[0], v * radii[1]);
                        [
                            centre[0] + px * cos - py * sin,
                            centre[1] + px * sin + py * cos,
                        ]
                    })
                    .collect(),
            },
        };
        let extent = match &outline {
            Outline::Ellipse { .. } => {
                let half_x = ((radii[0] * cos).powi(2) + (radii[1] * sin).powi(2)).sqrt();
                let half_y = ((radii[0] * sin).powi(2) + (radii[1] * cos).powi(2)).sqrt();
                [
                    centre[0] - half_x,
                    centre[1] - half_y,
                    centre[0] + half_x,
                    centre[1] + half_y,
                ]
            }
            Outline::Polygon { vertices } => vertices.iter().fold(
                [f32::MAX, f32::MAX, f32::MIN, f32::MIN],
                |[x0, y0, x1, y1], &[x, y]| [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
            ),
        };
        Self { outline, extent }
    }

    /// Signed distance in pixels from `(x, y)` to the outline: negative
    /// inside. Exact for polygons; for ellipses the usual first-order
    /// approximation, exact in sign.
    pub(crate) fn signed_distance(&self, x: f32, y: f32) -> f32 {
        match &self.outline {
            Outline::Ellipse {
                centre,
                axis,
                radii,
            } => {
                let (dx, dy) = (x - centre[0], y - centre[1]);
                let u = dx * axis[0] + dy * axis[1];
                let v = -dx * axis[1] + dy * axis[0];
                let k0 = ((u / radii[0]).powi(2) + (v / radii[1]).powi(2)).sqrt();
                let k1 = ((u / (radii[0] * radii[0])).powi(2)
                    + (v / (radii[1] * radii[1])).powi(2))
                .sqrt();
                if k1 == 0.0 {
                    -radii[0].min(radii[1])
                } else {
                    k0 * (k0 - 1.0) / k1
                }
            }
            Outline::Polygon { vertices } => polygon_distance(vertices, x, y),
        }
    }

    /// Calls `visit(pixel index, signed distance at the pixel centre)` for
    /// every pixel of a `width × height` raster that lies within half a pixel
    /// of the shape, row by row. Pixels not visited are fully outside.
    pub(crate) fn for_each_pixel(
        &self,
        width: u32,
        height: u32,
        mut visit: impl FnMut(usize, f32),
    ) {
        let [x0, y0, x1, y1] = self.extent;
        let span = |low: f32, high: f32, size: u32| {
            let first = (low - 1.0).floor().max(0.0) as u32;
            let last = ((high + 1.0).ceil().max(0.0) as u32).min(size);
            first..last
        };
        let columns = span(x0, x1, width);
        for y in span(y0, y1, height) {
            let row = y as usize * width as usize;
            let centre_y = y as f32 + 0.5;
            for x in columns.clone() {
                visit(
                    row + x as usize,
                    self.signed_distance(x as f32 + 0.5, centre_y),
                );
            }
        }
    }
}

/// The class's outline on the unit circle, or `None` for the ellipse family.
fn unit_polygon(class: ShapeClass) -> Option<Vec<[f32; 2]>> {
    match class {
        ShapeClass::Circle | ShapeClass::Ellipse => None,
        ShapeClass::Rectangle => Some(vec![[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]),
        ShapeClass::Triangle => Some(ring(3, |_| 1.0)),
        ShapeClass::Hexagon => Some(ring(6, |_| 1.0)),
        ShapeClass::Star => Some(ring(
            10,
            |k| {
                if k % 2 == 0 {
                    1.0
                } else {
                    STAR_INNER_RATIO
                }
            },
        )),
    }
}

/// `count` corners at radius `radius(k)`, evenly spaced, the first pointing up
/// (negative y).
fn ring(count: usize, radius: impl Fn(usize) -> f32) -> Vec<[f32; 2]> {
    (0..count)
        .map(|k| {
            let angle =
                std::f32::consts::TAU * k as f32 / count as f32 - std::f32::consts::FRAC_PI_2;
            let r = radius(k);
            [r * angle.cos(), r * angle.sin()]
        })
        .collect()
}

/// Exact signed distance to a simple polygon; the sign comes from the
/// even-odd crossing rule.
fn polygon_distance(vertices: &[[f32; 2]], x: f32, y: f32) -> f32 {
    let mut nearest = f32::MAX;
    let mut inside = false;
    let mut previous = vertices[vertices.len() - 1];
    for &current in vertices {
        let [ax, ay] = previous;
        let [bx, by] = current;
        let (ex, ey) = (bx - ax, by - ay);
        let (wx, wy) = (x - ax, y - ay);
        let length = ex * ex + ey * ey;
        let t = if length > 0.0 {
            ((wx * ex + wy * ey) / length).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (qx, qy) = (wx - ex * t, wy - ey * t);
        nearest = nearest.min(qx * qx + qy * qy);
        if (ay > y) != (by > y) && x < ax + (y - ay) * ex / ey {
            inside = !inside;
        }
        previous = current;
    }
    if inside {
        -nearest.sqrt()
    } else {
        nearest.sqrt()
    }
}

/// For every pixel, a bit set per object whose outline contains the pixel
/// centre: bit `i` is object `i` of `objects` (instance id `i + 1`). At most
/// 64 objects.
pub(crate) fn coverage_bits(objects: &[SceneObject], width: u32, height: u32) -> Vec<u64> {
    let mut bits = vec![0u64; width as usize * height as usize];
    for (index, object) in objects.iter().enumerate().take(64) {
        Shape::new(object).for_each_pixel(width, height, |pixel, distance| {
            if distance < 0.0 {
                bits[pixel] |= 1 << index;
            }
        });
    }
    bits
}

/// The instance id of the front-most object in a coverage bit set: the
/// highest set bit plus one, or 0 for none.
pub(crate) fn front_instance(bits: u64) -> u8 {
    (64 - bits.leading_zeros()) as u8
}

/// Rounds a channel value to the nearest byte, clamping to `0..=255`
/// (halves round up; NaN gives 0). Branch-free: `f32::round` is a libm call
/// on baseline x86-64 and `f32::clamp` branches, which noisy values
/// mispredict.
#[expect(
    clippy::manual_clamp,
    reason = "clamp branches; max/min compile to two instructions"
)]
pub(crate) fn to_byte(value: f32) -> u8 {
    (value.max(0.0).min(255.0) + 0.5) as i32 as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(class: ShapeClass, radii: [f64; 2], rotation: f64) -> SceneObject {
        SceneObject {
            id: 1,
            class,
            color: [255, 0, 0],
            center: [32.0, 32.0],
            radii,
            rotation,
        }
    }

    fn area(object: &SceneObject) -> usize {
        coverage_bits(std::slice::from_ref(object), 64, 64)
            .iter()
            .filter(|&&b| b != 0)
            .count()
    }

    #[test]
    fn pixel_areas_match_the_geometry() {
        let expect = |class, radii: [f64; 2], exact: f64| {
            let measured = area(&object(class, radii, 0.7)) as f64;
            assert!(
                (measured - exact).abs() / exact < 0.03,
                "{class:?}: {measured} pixels, expected about {exact}"
            );
        };
        let pi = std::f64::consts::PI;
        expect(ShapeClass::Circle, [20.0, 20.0], pi * 400.0);
        expect(ShapeClass::Ellipse, [20.0, 8.0], pi * 160.0);
        expect(ShapeClass::Rectangle, [20.0, 8.0], 4.0 * 160.0);
        expect(
            ShapeClass::Triangle,
            [20.0, 20.0],
            3.0 * 3f64.sqrt() / 4.0 * 400.0,
        );
        expect(
            ShapeClass::Hexagon,
            [20.0, 20.0],
            3.0 * 3f64.sqrt() / 2.0 * 400.0,
        );
        // Ten triangles (centre, outer tip, inner corner).
        let star = 10.0 * 0.5 * 20.0 * 9.0 * (pi / 5.0).sin();
        expect(ShapeClass::Star, [20.0, 20.0], star);
    }

    #[test]
    fn distances_are_signed_and_metric() {
        let square = Shape::new(&object(ShapeClass::Rectangle, [10.0, 10.0], 0.0));
        assert_eq!(square.signed_distance(32.0, 32.0), -10.0);
        assert_eq!(square.signed_distance(45.0, 32.0), 3.0);
        let circle = Shape::new(&object(ShapeClass::Circle, [10.0, 10.0], 0.0));
        assert!((circle.signed_distance(32.0, 47.0) - 5.0).abs() < 1e-4);
        assert!(circle.signed_distance(32.0, 32.0) < 0.0);
    }

    #[test]
    fn visits_cover_every_inside_pixel() {
        for class in ShapeClass::ALL {
            let shape = Shape::new(&object(class, [30.0, 12.0], 1.1));
            let mut visited = vec![false; 64 * 64];
            shape.for_each_pixel(64, 64, |pixel, _| visited[pixel] = true);
            for y in 0..64 {
                for x in 0..64 {
                    let d = shape.signed_distance(x as f32 + 0.5, y as f32 + 0.5);
                    if d < 0.5 {
                        assert!(
                            visited[y * 64 + x],
                            "{class:?} ({x}, {y}) at {d} not visited"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn front_instance_is_the_highest_bit() {
        assert_eq!(front_instance(0), 0);
        assert_eq!(front_instance(0b1), 1);
        assert_eq!(front_instance(0b1011), 4);
        assert_eq!(front_instance(1 << 63), 64);
    }
}
