import { parseRange, splitMulti, validateCustomKey, validateValue } from "./validate";

describe("validateValue", () => {
  it("email", () => {
    expect(validateValue("email", "ada@example.com")).toBeNull();
    expect(validateValue("email", "ada@")).toMatch(/email address/);
  });
  it("phone must be E.164", () => {
    expect(validateValue("phone", "+442071234567")).toBeNull();
    expect(validateValue("phone", "+44 20 7123 4567")).toBeNull();
    expect(validateValue("phone", "02071234567")).toMatch(/E\.164/);
  });
  it("date must exist", () => {
    expect(validateValue("date", "1990-02-28")).toBeNull();
    expect(validateValue("date", "1990-02-30")).toBe("That date does not exist");
    expect(validateValue("date", "28/02/1990")).toMatch(/YYYY-MM-DD/);
  });
  it("country, number, range, bool", () => {
    expect(validateValue("country", "GB")).toBeNull();
    expect(validateValue("country", "GBR")).not.toBeNull();
    expect(validateValue("number", "42.5")).toBeNull();
    expect(validateValue("number", "4x")).not.toBeNull();
    expect(validateValue("range", "20-80")).toBeNull();
    expect(validateValue("range", "80-20")).toMatch(/lower bound/);
    expect(validateValue("bool", "true")).toBeNull();
    expect(validateValue("bool", "maybe")).not.toBeNull();
  });
  it("enums use their options", () => {
    expect(validateValue("enum", "EU", ["EU", "UK", "US"])).toBeNull();
    expect(validateValue("enum", "JP", ["EU", "UK", "US"])).toMatch(/Choose one of/);
    expect(validateValue("multi_enum", "vegan, halal", ["vegan", "halal", "kosher"])).toBeNull();
    expect(validateValue("multi_enum", "vegan,paleo", ["vegan", "halal"])).toBe("Not a choice here: paleo");
  });
  it("empty means clear", () => {
    expect(validateValue("email", "   ")).toBeNull();
  });
});

describe("helpers", () => {
  it("splitMulti trims and drops empties", () => {
    expect(splitMulti(" a, ,b ,c")).toEqual(["a", "b", "c"]);
  });
  it("custom keys", () => {
    expect(validateCustomKey("custom.shoe_width")).toBeNull();
    expect(validateCustomKey("Shoe Width")).not.toBeNull();
    expect(validateCustomKey("custom..x")).not.toBeNull();
  });
});

describe("ranges", () => {
  it("parses bounds and currency", () => {
    expect(parseRange("20-80 GBP")).toEqual({ lo: "20", hi: "80", currency: "GBP" });
    expect(parseRange("20-")).toEqual({ lo: "20", hi: "", currency: "" });
    expect(parseRange("")).toEqual({ lo: "", hi: "", currency: "" });
    expect(validateValue("range", "20-80 GBP")).toBeNull();
  });
});
