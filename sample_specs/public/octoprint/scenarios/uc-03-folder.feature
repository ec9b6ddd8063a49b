# language: zh-CN
功能: UC-03 新建文件夹并在文件列表中看到它（REST API：File operations）

  场景: 新建的文件夹出现在文件列表中
    假如 以测试账户“alice”登录
    当 调用操作“create_folder”，字段为：
      | 字段   | 值            |
      | folder | uc03-folder   |
    那么 操作成功
    而且 记下应答字段“folder”为“文件夹”
    当 调用操作“files”
    那么 操作成功
    而且 应答字段“files”中有一项含有记下的“文件夹”
