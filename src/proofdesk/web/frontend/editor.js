console.log("editor placeholder");
