// expect: {"area":12,"count":2,"name":"Rect","private":true,"static":"shape","getter":7}
// Classes: inheritance, private fields and methods, static members, getters.
class Shape {
    static kind = "shape";
    static #count = 0;
    constructor() { Shape.#count++; }
    static get count() { return Shape.#count; }
}
class Rect extends Shape {
    #w; #h;
    constructor(w, h) { super(); this.#w = w; this.#h = h; }
    #area() { return this.#w * this.#h; }
    get area() { return this.#area(); }
    get half() { return (this.#w + this.#h) / 2 + 3.5; }
    static isRect(o) { return #w in o; }
}
function main() {
    const r = new Rect(3, 4);
    new Rect(1, 1);
    return { area: r.area, count: Shape.count, name: r.constructor.name, private: Rect.isRect(r),
             static: Rect.kind, getter: r.half };
}
